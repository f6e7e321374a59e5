using System.Globalization;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Self.Network.Distributed.Tests.Infrastructure;
using Self.Network.Nats;

namespace Self.Network.Distributed.Tests.Storage;

/// <summary>What the JetStream inbox adds to the contract: offsets are stream sequences, shared by every instance.</summary>
[Collection(ServicesCollection.Name)]
public sealed class NatsInboxStoreTests(ServicesFixture services) : IAsyncLifetime
{
    private readonly List<SelfNatsConnection> _connections = [];
    private readonly SelfNatsOptions _options = services.NewNats();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }

        await using var admin = Connect();
        try
        {
            await admin.JetStream.DeleteStreamAsync(_options.StreamName);
        }
        catch (NatsJSApiException)
        {
            // The test never created it.
        }
    }

    [Fact]
    public void IsLeaderless_TheFailuresOfAnElection_AreRetriedAndOthersAreNot()
    {
        // Reads, counts and purges go through JetStream's API, which answers nothing while the stream elects a leader:
        // seen in a chaos run as a delivery read that failed and closed a connection.
        Assert.True(NatsInboxStore.IsLeaderless(new NatsJSApiNoResponseException()));
        Assert.True(NatsInboxStore.IsLeaderless(new NatsJSPublishNoResponseException()));
        Assert.True(NatsInboxStore.IsLeaderless(new TimeoutException()));
        Assert.False(NatsInboxStore.IsLeaderless(new NatsJSApiException(new ApiError { Code = 400, Description = "bad request" })));
        Assert.False(NatsInboxStore.IsLeaderless(new InvalidOperationException()));
    }

    [Fact]
    public async Task AppendAsync_AfterTheAck_TheMessageIsInTheStreamAtItsOffsetWithItsTimestamp()
    {
        var store = Store();

        var offset = await store.AppendAsync("84099724068:1", 1_234_567_890_123_456_789, new byte[] { 1, 2, 3 });

        // Read back with a plain JetStream client, not through the store.
        var stream = await Connection().JetStream.GetStreamAsync(_options.StreamName);
        var stored = (await stream.GetAsync(new StreamMsgGetRequest { Seq = (ulong)offset })).Message;
        Assert.Equal(_options.InboxSubjectPrefix + ".84099724068.1", stored.Subject);
        Assert.Equal(new byte[] { 1, 2, 3 }, stored.Data.ToArray());
        var headers = System.Text.Encoding.ASCII.GetString(Convert.FromBase64String(stored.Hdrs!));
        Assert.Contains("Self-Timestamp: 1234567890123456789", headers, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AppendAsync_TwoInstancesOnOneStream_OffsetsIncreaseAcrossThemAndEitherReadsAll()
    {
        var a = Store();
        var b = Store();
        var inbox = "84099724068:phone";

        var offsets = new List<long>();
        for (var i = 0; i < 10; i++)
        {
            offsets.Add(await (i % 2 == 0 ? a : b).AppendAsync(inbox, i, new[] { (byte)i }));
        }

        Assert.Equal(offsets.Order(), offsets);
        Assert.Equal(10, offsets.Distinct().Count());
        Assert.Equal(offsets, (await a.ReadAsync(inbox, 0, 100)).Select(static m => m.Offset));
        Assert.Equal(offsets.Skip(5), (await b.ReadAsync(inbox, offsets[4], 100)).Select(static m => m.Offset));
    }

    [Theory]
    [InlineData("84099724068:a.b", "84099724068:a")]
    [InlineData("84099724068:a.b", "84099724068.a:b")]
    [InlineData("84099724068:a_b", "84099724068:a-b")]
    [InlineData("84099724068:%2E", "84099724068:.")]
    public async Task AppendAsync_DeviceIdsWithDotsAndLookalikes_StayInSeparateInboxes(string first, string second)
    {
        var store = Store();

        var one = await store.AppendAsync(first, 1, new byte[] { 1 });
        var two = await store.AppendAsync(second, 2, new byte[] { 2 });

        Assert.Equal([one], (await store.ReadAsync(first, 0, 10)).Select(static m => m.Offset));
        Assert.Equal([two], (await store.ReadAsync(second, 0, 10)).Select(static m => m.Offset));
    }

    [Fact]
    public async Task AppendAsync_FrameOfTheRelaysLargestSize_IsStoredAndReadBackIntact()
    {
        var store = Store();
        var frame = new byte[SelfNetworkOptions.DefaultMaxFrameBytes];
        Random.Shared.NextBytes(frame);

        var offset = await store.AppendAsync("84099724068:1", 7, frame);

        var read = Assert.Single(await store.ReadAsync("84099724068:1", offset - 1, 10));
        Assert.Equal(frame, read.Frame.ToArray());
    }

    [Fact]
    public async Task InitializeAsync_NatsServerWithTheDefaultMaxPayload_FailsNamingTheSetting()
    {
        await using var smallServer = await NatsServer.StartAsync(maxPayload: null);
        await using var connection = new SelfNatsConnection(_options with { Url = smallServer.Url });
        var store = new NatsInboxStore(connection);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync().AsTask());

        Assert.Contains("max_payload", error.Message, StringComparison.Ordinal);
        Assert.Contains(SelfNetworkOptions.DefaultMaxFrameBytes.ToString(CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InitializeAsync_NoNatsServerListening_FailsInsteadOfWaiting()
    {
        await using var connection = new SelfNatsConnection(_options with { Url = $"nats://127.0.0.1:{Machine.FreePort()}" });
        var store = new NatsInboxStore(connection);

        await Assert.ThrowsAsync<NATS.Client.Core.NatsException>(() => store.InitializeAsync().AsTask());
    }

    [Fact]
    public async Task InitializeAsync_ByEveryInstance_KeepsOneStreamWithTheRetentionAsMaxAge()
    {
        var network = new SelfNetworkOptions { InboxRetention = TimeSpan.FromDays(3) };
        await new NatsInboxStore(Connection(), network).InitializeAsync();
        var offset = await new NatsInboxStore(Connection(), network).AppendAsync("84099724068:1", 1, new byte[] { 1 });

        await new NatsInboxStore(Connection(), network).InitializeAsync();

        var stream = await Connection().JetStream.GetStreamAsync(_options.StreamName);
        Assert.Equal(TimeSpan.FromDays(3), stream.Info.Config.MaxAge);
        Assert.Equal(StreamConfigStorage.File, stream.Info.Config.Storage);
        Assert.Equal([offset], (await Store().ReadAsync("84099724068:1", 0, 10)).Select(static m => m.Offset));
    }

    [Fact]
    public async Task InitializeAsync_SixInstancesStartingTogether_AllSucceedOnOneStream()
    {
        var stores = Enumerable.Range(0, 6).Select(_ => Store()).ToList();

        await Task.WhenAll(stores.Select(static s => Task.Run(() => s.InitializeAsync().AsTask())));

        var offset = await stores[0].AppendAsync("84099724068:1", 1, new byte[] { 1 });
        Assert.Equal([offset], (await stores[5].ReadAsync("84099724068:1", 0, 10)).Select(static m => m.Offset));
        var names = new List<string>();
        await foreach (var name in Connection().JetStream.ListStreamNamesAsync())
        {
            names.Add(name);
        }

        Assert.Single(names, n => n == _options.StreamName);
    }

    [Fact]
    public async Task PruneAsync_ExpiredMessagesBehindANewerOne_AreDeletedToo()
    {
        var store = Store();
        var inbox = "84099724068:1";
        await store.AppendAsync(inbox, 1_000, new byte[] { 1 });
        var kept = await store.AppendAsync(inbox, 3_000, new byte[] { 2 });
        await store.AppendAsync(inbox, 1_500, new byte[] { 3 }); // an instance whose clock is a little behind

        Assert.Equal(2, await store.PruneAsync(2_000));

        Assert.Equal([kept], (await store.ReadAsync(inbox, 0, 10)).Select(static m => m.Offset));
    }

    [Fact]
    public async Task PruneAsync_MoreMessagesThanOneScanBatch_DropsThemAll()
    {
        var store = Store();
        await Task.WhenAll(Enumerable.Range(0, 1300).Select(i => store.AppendAsync($"10000000000:{i % 7}", i, new byte[] { 1 }).AsTask()));
        var kept = await store.AppendAsync("10000000000:1", 5_000, new byte[] { 2 });

        Assert.Equal(1300, await store.PruneAsync(2_000));

        Assert.Equal([kept], (await store.ReadAsync("10000000000:1", 0, 2000)).Select(static m => m.Offset));
        Assert.Empty(await store.ReadAsync("10000000000:0", 0, 2000));
    }

    [Fact]
    public async Task PruneAsync_MessageStampedBeyondTheClockSkewTolerance_EndsTheScan()
    {
        var store = Store();
        var inbox = "84099724068:1";
        var tolerance = _options.ClockSkewTolerance.Ticks * 100;
        var first = await store.AppendAsync(inbox, 1_000, new byte[] { 1 });
        var newer = await store.AppendAsync(inbox, 2_000 + tolerance, new byte[] { 2 });

        // Stamped long before the one above: only a broken clock does that, and the sweep does not look past it.
        var late = await store.AppendAsync(inbox, 1_500, new byte[] { 3 });

        Assert.Equal(1, await store.PruneAsync(2_000));

        Assert.Equal([newer, late], (await store.ReadAsync(inbox, 0, 10)).Select(static m => m.Offset));
        Assert.True(first < newer);
    }

    [Fact]
    public async Task AppendAsync_AckedThenNatsServerKilled_MessageIsThereAfterTheRestart()
    {
        await using var server = await NatsServer.StartAsync();
        await using var connection = new SelfNatsConnection(_options with { Url = server.Url });
        var store = new NatsInboxStore(connection);
        var offset = await store.AppendAsync("84099724068:1", 42, new byte[] { 4, 2 });

        await server.KillAndRestartAsync();

        var read = await EventuallyAsync(() => store.ReadAsync("84099724068:1", 0, 10).AsTask());
        var message = Assert.Single(read);
        Assert.Equal(offset, message.Offset);
        Assert.Equal(42, message.Timestamp);
        Assert.True(await store.AppendAsync("84099724068:1", 43, new byte[] { 5 }) > offset);
    }

    private NatsInboxStore Store() => new(Connection());

    private SelfNatsConnection Connection()
    {
        var connection = Connect();
        _connections.Add(connection);
        return connection;
    }

    private SelfNatsConnection Connect() => new(_options);

    /// <summary>Retries while the client reconnects to the restarted server (JetStream calls fail until it has).</summary>
    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> action)
    {
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(60);
        while (true)
        {
            try
            {
                return await action();
            }
            catch (Exception ex) when (ex is NATS.Client.Core.NatsException or TimeoutException or OperationCanceledException && TimeProvider.System.GetUtcNow() < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}
