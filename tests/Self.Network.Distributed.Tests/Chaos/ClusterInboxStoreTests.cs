using Self.Network.Nats;
using Self.Network.Storage;

namespace Self.Network.Distributed.Tests.Chaos;

/// <summary>
/// The JetStream inbox on a 3-node cluster with 3 replicas: when the node that leads the stream dies, appends, reads and
/// removals wait for the new leader instead of failing, and nothing acknowledged before is lost.
/// </summary>
public sealed class ClusterInboxStoreTests : IAsyncLifetime
{
    private NatsCluster? _cluster;
    private SelfNatsConnection? _connection;

    public async Task InitializeAsync() => _cluster = await NatsCluster.StartAsync(3);

    public async Task DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task StreamLeaderKilled_AppendReadAndRemoveWaitForTheNewLeader_NothingAcknowledgedIsLost()
    {
        var options = new SelfNatsOptions { Url = _cluster!.Url, Replicas = 3, StreamName = "SELF_INBOX_CLUSTER" };
        _connection = new SelfNatsConnection(options);
        IInboxStore store = new NatsInboxStore(_connection);
        const string Inbox = "84099724068:1";
        var before = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            before.Add(await store.AppendAsync(Inbox, i, new byte[] { (byte)i }));
        }

        await _cluster.KillAsync(await _cluster.LeaderOfAsync(options, options.StreamName));

        // The first calls after the kill find no leader (an election takes seconds): they wait for one, they do not throw.
        var after = await store.AppendAsync(Inbox, 5, new byte[] { 5 });
        var read = await store.ReadAsync(Inbox, 0, 100);
        Assert.Equal([.. before, after], read.Select(static m => m.Offset));
        Assert.Equal(new byte[] { 0, 1, 2, 3, 4, 5 }, read.Select(static m => m.Frame.Span[0]));

        Assert.Equal(3, await store.RemoveThroughAsync(Inbox, before[2]));
        Assert.Equal([before[3], before[4], after], (await store.ReadAsync(Inbox, 0, 100)).Select(static m => m.Offset));
    }

    [Fact]
    public void PublishRetryTimeout_OutOfRange_IsRefusedNamingTheSetting()
    {
        var error = Assert.Throws<ArgumentException>(() => new SelfNatsOptions { Url = "nats://127.0.0.1:4222", PublishRetryTimeout = TimeSpan.FromMinutes(3) }.Validate());
        Assert.Equal(nameof(SelfNatsOptions.PublishRetryTimeout), error.ParamName);
    }
}
