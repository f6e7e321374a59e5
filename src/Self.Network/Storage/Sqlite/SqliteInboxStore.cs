using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Self.Network.Storage.Sqlite;

/// <summary>
/// <see cref="IInboxStore"/> on SQLite. Appends are committed in groups: whatever is waiting when the writer
/// comes round goes into one transaction (one fsync), and each caller is released only after that commit.
/// </summary>
internal sealed class SqliteInboxStore : IInboxStore, IStorageInitializer, IDescribedStore, IAsyncDisposable
{
    private const int MaxBatch = 256;
    private const int MaxTrackedSizes = 100_000;

    private readonly SqliteDatabase _database;
    private readonly Channel<PendingAppend> _pending = Channel.CreateUnbounded<PendingAppend>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });

    private readonly Task _writer;

    /// <summary>Sizes of the inboxes asked about lately, kept up to date by appends; dropped when messages are removed.</summary>
    private readonly Dictionary<string, InboxSize> _sizes = new(StringComparer.Ordinal);

    /// <summary>Stores inboxes in <paramref name="database"/>.</summary>
    public SqliteInboxStore(SqliteDatabase database)
    {
        _database = database ?? throw new ArgumentNullException(nameof(database));
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <inheritdoc />
    public string Description => "SQLite " + _database.Path;

    /// <inheritdoc />
    public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => _database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> AppendAsync(string address, long timestamp, ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new PendingAppend(address, timestamp, frame);
        if (!_pending.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(SqliteInboxStore));
        }

        return new ValueTask<long>(pending.Completion.Task.WaitAsync(cancellationToken));
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<InboxMessage>> ReadAsync(string address, long afterOffset, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);
        await using var lease = await _database.LeaseAsync(cancellationToken).ConfigureAwait(false);
        var command = lease.Command(
            "SELECT msg_offset, timestamp, frame FROM inbox_messages WHERE address = $address AND msg_offset > $after ORDER BY msg_offset LIMIT $max",
            ("$address", SqliteType.Text), ("$after", SqliteType.Integer), ("$max", SqliteType.Integer));
        command.Parameters[0].Value = address;
        command.Parameters[1].Value = afterOffset;
        command.Parameters[2].Value = maxCount;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var messages = new List<InboxMessage>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            messages.Add(new InboxMessage(reader.GetInt64(0), reader.GetInt64(1), (byte[])reader.GetValue(2)));
        }

        return messages;
    }

    /// <inheritdoc />
    public async ValueTask<InboxSize?> SizeAsync(string address, CancellationToken cancellationToken = default)
    {
        lock (_sizes)
        {
            if (_sizes.TryGetValue(address, out var known))
            {
                return known;
            }
        }

        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*), coalesce(sum(length(frame)), 0) FROM inbox_messages WHERE address = $address";
        command.Parameters.AddWithValue("$address", address);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var size = new InboxSize(reader.GetInt64(0), reader.GetInt64(1));
        lock (_sizes)
        {
            if (_sizes.Count >= MaxTrackedSizes)
            {
                _sizes.Clear();
            }

            // An append that committed meanwhile may be missing here; the entry is dropped (and read afresh) as soon
            // as the inbox's device reads, so the count cannot drift for long.
            _sizes.TryAdd(address, size);
            return _sizes[address];
        }
    }

    /// <inheritdoc />
    public async ValueTask<InboxTotals?> TotalsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*), coalesce(sum(length(frame)), 0) FROM inbox_messages GROUP BY address";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        long inboxes = 0, messages = 0, bytes = 0, largestMessages = 0, largestBytes = 0;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var count = reader.GetInt64(0);
            var size = reader.GetInt64(1);
            inboxes++;
            messages += count;
            bytes += size;
            largestMessages = Math.Max(largestMessages, count);
            largestBytes = Math.Max(largestBytes, size);
        }

        return new InboxTotals(inboxes, messages, bytes, largestMessages, largestBytes);
    }

    /// <inheritdoc />
    public ValueTask<long> RemoveThroughAsync(string address, long offset, CancellationToken cancellationToken = default)
    {
        lock (_sizes)
        {
            _sizes.Remove(address);
        }

        return RemoveThroughCoreAsync(address, offset, cancellationToken);
    }

    private async ValueTask<long> RemoveThroughCoreAsync(string address, long offset, CancellationToken cancellationToken)
    {
        var removed = await _database.WriteAsync(
            async (connection, transaction, ct) =>
            {
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = "DELETE FROM inbox_messages WHERE address = $address AND msg_offset <= $offset";
                command.Parameters.AddWithValue("$address", address);
                command.Parameters.AddWithValue("$offset", offset);
                return (long)await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
        lock (_sizes)
        {
            _sizes.Remove(address);
        }

        return removed;
    }

    /// <inheritdoc />
    public async ValueTask<long> PruneAsync(long timestamp, CancellationToken cancellationToken = default)
    {
        var pruned = await _database.WriteAsync(
            async (connection, transaction, ct) =>
            {
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = "DELETE FROM inbox_messages WHERE timestamp < $timestamp";
                command.Parameters.AddWithValue("$timestamp", timestamp);
                return (long)await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
        lock (_sizes)
        {
            _sizes.Clear();
        }

        return pruned;
    }

    /// <summary>Stops accepting appends and waits for the ones already queued to be written.</summary>
    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<PendingAppend>(MaxBatch);
        var reader = _pending.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            try
            {
                var offsets = await _database.WriteAsync((SqliteLease lease, SqliteTransaction transaction, CancellationToken ct) => WriteBatchAsync(lease, transaction, batch, ct)).ConfigureAwait(false);
                lock (_sizes)
                {
                    foreach (var pending in batch)
                    {
                        if (_sizes.TryGetValue(pending.Address, out var size))
                        {
                            _sizes[pending.Address] = new InboxSize(size.Messages + 1, size.Bytes + pending.Frame.Length);
                        }
                    }
                }

                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Completion.TrySetResult(offsets[i]);
                }
            }
            catch (Exception exception)
            {
                foreach (var pending in batch)
                {
                    pending.Completion.TrySetException(exception);
                }
            }
        }
    }

    private static async ValueTask<long[]> WriteBatchAsync(
        SqliteLease lease,
        SqliteTransaction transaction,
        List<PendingAppend> batch,
        CancellationToken cancellationToken)
    {
        // The head row remembers the last offset even when every message has been dropped, so offsets are never reused.
        var head = lease.Command(
            """
            INSERT INTO inbox_heads (address, last_offset) VALUES ($address, 1)
            ON CONFLICT (address) DO UPDATE SET last_offset = last_offset + 1
            RETURNING last_offset
            """,
            ("$address", SqliteType.Text));
        head.Transaction = transaction;
        var insert = lease.Command(
            "INSERT INTO inbox_messages (address, msg_offset, timestamp, frame) VALUES ($address, $offset, $timestamp, $frame)",
            ("$address", SqliteType.Text), ("$offset", SqliteType.Integer), ("$timestamp", SqliteType.Integer), ("$frame", SqliteType.Blob));
        insert.Transaction = transaction;

        var offsets = new long[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var pending = batch[i];
            head.Parameters[0].Value = pending.Address;
            offsets[i] = (long)(await head.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;

            insert.Parameters[0].Value = pending.Address;
            insert.Parameters[1].Value = offsets[i];
            insert.Parameters[2].Value = pending.Timestamp;
            insert.Parameters[3].Value = AsArray(pending.Frame);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return offsets;
    }

    private static byte[] AsArray(ReadOnlyMemory<byte> memory) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(memory, out var segment)
            && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : memory.ToArray();

    private sealed class PendingAppend(string address, long timestamp, ReadOnlyMemory<byte> frame)
    {
        public string Address { get; } = address;

        public long Timestamp { get; } = timestamp;

        public ReadOnlyMemory<byte> Frame { get; } = frame;

        public TaskCompletionSource<long> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
