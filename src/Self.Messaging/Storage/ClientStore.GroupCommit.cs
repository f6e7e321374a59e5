using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Self.Protocol.Identifiers;

namespace Self.Messaging;

// The group commit of a ClientStore: batches queued by concurrent callers are written in one transaction on a
// writer thread (StoreWriterThreads), and each caller hears the outcome of its own batch.
internal sealed partial class ClientStore
{
    // ---- Group commit -----------------------------------------------------------------------------------------

    // Runs on a writer thread until the queue is empty; never throws (each failure goes to its batch's caller).
    private void CommitQueued()
    {
        var busy = false;
        while (true)
        {
            if (busy)
            {
                // The last transaction carried several batches, so callers are queueing faster than one fsync: a
                // moment's wait lets more of them share the next one (fewer fsyncs and WAL frames per batch). A store
                // that commits one batch at a time never waits.
                Thread.Sleep(GroupCommitLinger);
            }

            List<PendingCommit> group;
            lock (_queueGate)
            {
                if (_queue.Count == 0)
                {
                    _committing = false;
                    _committer!.TrySetResult();
                    return;
                }

                if (_queue.Count <= MaxBatchesPerTransaction)
                {
                    group = _queue;
                    _queue = [];
                }
                else
                {
                    group = _queue.GetRange(0, MaxBatchesPerTransaction);
                    _queue.RemoveRange(0, MaxBatchesPerTransaction);
                }
            }

            busy = group.Count > 1;
            try
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                Write(group);
                MessagingTelemetry.StoreCommitted(started, group.Count);
                foreach (var pending in group)
                {
                    pending.Done.TrySetResult();
                }
            }
            catch (Exception) when (group.Count > 1)
            {
                // One batch may be what failed: retry each alone, so the others still land and each stays all or nothing.
                foreach (var pending in group)
                {
                    try
                    {
                        Write([pending]);
                        pending.Done.TrySetResult();
                    }
                    catch (Exception single)
                    {
                        pending.Done.TrySetException(single);
                    }
                }
            }
            catch (Exception ex)
            {
                group[0].Done.TrySetException(ex);
            }
        }
    }

    private void Write(List<PendingCommit> group)
    {
        using var transaction = _connection.BeginTransaction();
        foreach (var pending in group)
        {
            foreach (var operation in pending.Operations)
            {
                var command = WriteCommand(operation.Statement);
                command.Transaction = transaction;
                var values = operation.Values;
                for (var i = 0; i < values.Length; i++)
                {
                    command.Parameters[i].Value = values[i];
                }

                command.ExecuteNonQuery();
            }
        }

        BeforeCommit?.Invoke();
        transaction.Commit();
        Interlocked.Increment(ref _transactions);
    }

    private SqliteCommand WriteCommand(StoreStatement statement)
    {
        var index = (int)statement;
        if (_writes[index] is { } cached)
        {
            return cached;
        }

        var sql = WriteSql[index];
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in ParameterNames)
        {
            if (sql.Contains(name, StringComparison.Ordinal))
            {
                command.Parameters.Add(new SqliteParameter(name, null));
            }
        }

        _writes[index] = command;
        return command;
    }

    private sealed class PendingCommit(StoreOperation[] operations)
    {
        public StoreOperation[] Operations { get; } = operations;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
