using Microsoft.Data.Sqlite;
using Self.Messaging.Tests.Infrastructure;
using Self.Protocol.Identifiers;

namespace Self.Messaging.Tests;

/// <summary>
/// The store's group commit: batches queued while a transaction is in flight share the next one, yet each caller is
/// told "done" only once its own batch is durable, each batch stays all or nothing, and order is kept.
/// </summary>
public sealed class GroupCommitTests
{
    private static readonly Address Owner = new("84099724068", "1");

    [Fact]
    public async Task Commits_AreMeasured_DurationAndBatchesPerTransaction_OnTheSelfMessagingMeter()
    {
        var durations = new System.Collections.Concurrent.ConcurrentBag<double>();
        var batches = new System.Collections.Concurrent.ConcurrentBag<long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Self.Messaging")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (instrument.Name == "self.client.store.commit.duration")
            {
                durations.Add(value);
            }
        });
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "self.client.store.commit.batches")
            {
                batches.Add(value);
            }
        });
        listener.Start();

        await using var store = await ClientStore.OpenAsync(TempDirectory.Create("store"), Owner, "k");
        using var inFlight = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        store.BeforeCommit = () =>
        {
            inFlight.Set();
            release.Wait(TimeSpan.FromSeconds(30));
        };
        var first = store.SetValueAsync("first", [1]);
        Assert.True(inFlight.Wait(TimeSpan.FromSeconds(30)));
        var queued = Enumerable.Range(0, 7).Select(i => store.SetValueAsync("queued-" + i, [2])).ToList();
        store.BeforeCommit = null;
        release.Set();
        await first;
        await Task.WhenAll(queued);

        // The held transaction, then the seven queued batches together (other tests' stores may add their own).
        Assert.Contains(batches, b => b >= 7);
        Assert.True(durations.Count >= 2);
        Assert.All(durations, d => Assert.True(d >= 0));
        Assert.Contains(durations, d => d > 0);
    }

    [Fact]
    public async Task ConcurrentCommits_ShareTransactions_AndAllAreDurable()
    {
        var folder = TempDirectory.Create("store");
        await using (var store = await ClientStore.OpenAsync(folder, Owner, "k"))
        {
            using var inFlight = new ManualResetEventSlim();
            using var release = new ManualResetEventSlim();
            store.BeforeCommit = () =>
            {
                inFlight.Set();
                release.Wait(TimeSpan.FromSeconds(30));
            };

            var first = store.SaveOpenRequestAsync("cid-0", "{}", DateTimeOffset.UnixEpoch.AddDays(1));
            Assert.True(inFlight.Wait(TimeSpan.FromSeconds(30)));
            var before = store.TransactionCount;

            // Queued while the first transaction is held open: they wait for the next one.
            var rest = Enumerable.Range(1, 20)
                .Select(i => store.CommitAsync(store.CreateBatch().SaveOpenRequest($"cid-{i}", "{}", DateTimeOffset.UnixEpoch.AddDays(1)).SetProcessedOffset(i)))
                .ToList();
            Assert.All(rest, t => Assert.False(t.IsCompleted));
            Assert.False(first.IsCompleted);

            store.BeforeCommit = null;
            release.Set();
            await first;
            await Task.WhenAll(rest);

            // 21 batches, far fewer transactions: the 20 queued ones went in one (at most two if the hook raced).
            Assert.InRange(store.TransactionCount - before, 1, 3);
        }

        await using var reopened = await ClientStore.OpenAsync(folder, Owner, "k");
        Assert.Equal(21, (await reopened.GetOpenRequestsAsync()).Count);
        Assert.Equal(20, await reopened.GetProcessedOffsetAsync());
    }

    [Fact]
    public async Task FailingBatchInAGroup_FailsAlone_OthersLandWhole()
    {
        var folder = TempDirectory.Create("store");
        await using var store = await ClientStore.OpenAsync(folder, Owner, "k");
        await using (var connection = new SqliteConnection($"Data Source={store.FilePath};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "CREATE TRIGGER refuse_bad BEFORE INSERT ON open_requests WHEN NEW.cid = 'bad' BEGIN SELECT RAISE(ABORT, 'refused'); END;";
            await command.ExecuteNonQueryAsync();
        }

        using var inFlight = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        store.BeforeCommit = () =>
        {
            inFlight.Set();
            release.Wait(TimeSpan.FromSeconds(30));
        };
        var holder = store.SetStringAsync("holder", "x");
        Assert.True(inFlight.Wait(TimeSpan.FromSeconds(30)));

        var good1 = store.CommitAsync(store.CreateBatch().SaveOpenRequest("good-1", "{}", DateTimeOffset.UnixEpoch.AddDays(1)).SetProcessedOffset(5));
        var bad = store.CommitAsync(store.CreateBatch().SetValue("with-bad", "v"u8).SaveOpenRequest("bad", "{}", DateTimeOffset.UnixEpoch.AddDays(1)));
        var good2 = store.CommitAsync(store.CreateBatch().SaveOpenRequest("good-2", "{}", DateTimeOffset.UnixEpoch.AddDays(1)));
        store.BeforeCommit = null;
        release.Set();

        await holder;
        await good1;
        await good2;
        await Assert.ThrowsAsync<SqliteException>(() => bad);
        Assert.NotNull(await store.GetOpenRequestAsync("good-1"));
        Assert.NotNull(await store.GetOpenRequestAsync("good-2"));
        Assert.Equal(5, await store.GetProcessedOffsetAsync());
        // The failing batch is all or nothing: its other change is not there either.
        Assert.Null(await store.GetStringAsync("with-bad"));
        Assert.Null(await store.GetOpenRequestAsync("bad"));
    }

    [Fact]
    public async Task CrashBeforeCommit_CallerIsNotToldDone_AndNothingIsWritten()
    {
        var folder = TempDirectory.Create("store");
        await using (var store = await ClientStore.OpenAsync(folder, Owner, "k"))
        {
            await store.CommitAsync(store.CreateBatch().SetProcessedOffset(3));
            store.BeforeCommit = () => throw new IOException("power cut before COMMIT");
            var error = await Assert.ThrowsAsync<IOException>(
                () => store.CommitAsync(store.CreateBatch().SetProcessedOffset(4).SaveOpenRequest("cid", "{}", DateTimeOffset.UnixEpoch.AddDays(1))));
            Assert.Equal("power cut before COMMIT", error.Message);
            store.BeforeCommit = null;
        }

        await using var reopened = await ClientStore.OpenAsync(folder, Owner, "k");
        Assert.Equal(3, await reopened.GetProcessedOffsetAsync());
        Assert.Null(await reopened.GetOpenRequestAsync("cid"));
    }

    [Fact]
    public async Task SessionSave_WithAnOlderStamp_DoesNotOverwriteANewerOne()
    {
        var folder = TempDirectory.Create("store");
        await using var store = await ClientStore.OpenAsync(folder, Owner, "k");
        const string peer = "5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0:1";

        await store.CommitAsync(store.CreateBatch().SaveSession(peer, "s", "newer"u8, 20));
        await store.CommitAsync(store.CreateBatch().SaveSession(peer, "s", "older"u8, 10));
        Assert.Equal("newer"u8.ToArray(), Assert.Single(await store.LoadSessionsAsync(peer)).State);

        await store.CommitAsync(store.CreateBatch().SaveSession(peer, "s", "newest"u8, 30));
        var session = Assert.Single(await store.LoadSessionsAsync(peer));
        Assert.Equal("newest"u8.ToArray(), session.State);
        Assert.Equal(30, session.LastUsed);
    }

    [Fact]
    public async Task QueuedBatches_LandInTheOrderTheyWereQueued()
    {
        var folder = TempDirectory.Create("store");
        await using var store = await ClientStore.OpenAsync(folder, Owner, "k");
        var commits = Enumerable.Range(0, 50)
            .Select(i => store.CommitAsync(store.CreateBatch().SetValue("last", BitConverter.GetBytes(i))))
            .ToList();
        await Task.WhenAll(commits);
        Assert.Equal(49, BitConverter.ToInt32(await store.GetValueAsync("last")));
    }

    [Fact]
    public async Task Dispose_WaitsForQueuedBatches()
    {
        var folder = TempDirectory.Create("store");
        Task last;
        await using (var store = await ClientStore.OpenAsync(folder, Owner, "k"))
        {
            for (var i = 1; i < 30; i++)
            {
                _ = store.CommitAsync(store.CreateBatch().SetProcessedOffset(i));
            }

            last = store.CommitAsync(store.CreateBatch().SetProcessedOffset(30));
        }

        Assert.True(last.IsCompletedSuccessfully);
        await using var reopened = await ClientStore.OpenAsync(folder, Owner, "k");
        Assert.Equal(30, await reopened.GetProcessedOffsetAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(async () =>
        {
            var closed = await ClientStore.OpenAsync(TempDirectory.Create("other"), Owner, "k");
            await closed.DisposeAsync();
            await closed.CommitAsync(closed.CreateBatch().SetProcessedOffset(1));
        });
    }
}
