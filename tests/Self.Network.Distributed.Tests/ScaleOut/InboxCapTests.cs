using NATS.Client.JetStream;
using Self.Network.Distributed.Tests.Infrastructure;
using Self.Network.Nats;
using Self.Network.PostgreSql;
using Self.Network.Storage;
using Self.Network.Tests.Infrastructure;
using Self.Network.Tests.Relay;
using Self.Protocol.Frames;

namespace Self.Network.Distributed.Tests.ScaleOut;

/// <summary>
/// Hole 4's inbox caps on the scaled-out backend: the JetStream inbox tells the relay what an inbox holds — messages
/// and bytes, whichever instance stored them or removed them — so two instances refuse over the cap with ERR
/// "inbox full" as one SQLite instance does.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class InboxCapTests(ServicesFixture services) : IAsyncLifetime
{
    private const string AdminToken = "operator-token-inbox-caps";

    private readonly SelfPostgreSqlOptions _registry = services.NewPostgreSql();
    private readonly SelfNatsOptions _inboxes = services.NewNats();
    private readonly List<NetworkInstance> _instances = [];
    private readonly List<SelfNatsConnection> _connections = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }

        await using var admin = new SelfNatsConnection(_inboxes);
        try
        {
            await admin.JetStream.DeleteStreamAsync(_inboxes.StreamName);
        }
        catch (NatsJSApiException)
        {
            // Never created.
        }

        await services.DropSchemaAsync(_registry.Schema);
    }

    [Fact]
    public async Task SizeAsync_AppendsAndRemovalsThroughEitherInstance_CountsMessagesAndBytesExactly()
    {
        var a = Store();
        var b = Store();
        const string Inbox = "84099724068:1";
        Assert.Equal(new InboxSize(0, 0), await a.SizeAsync(Inbox));

        var offsets = new List<long>();
        for (var i = 1; i <= 6; i++)
        {
            offsets.Add(await (i % 2 == 0 ? a : b).AppendAsync(Inbox, i, new byte[i * 100]));
            Assert.Equal(new InboxSize(i, 100L * i * (i + 1) / 2), await a.SizeAsync(Inbox));
        }

        await b.AppendAsync("84099724068:2", 7, new byte[5000]);
        Assert.Equal(new InboxSize(6, 2100), await b.SizeAsync(Inbox));

        // The device reads the first three through B: A, which counted them, sees them gone.
        await b.RemoveThroughAsync(Inbox, offsets[2]);
        Assert.Equal(new InboxSize(3, 1500), await a.SizeAsync(Inbox));
        await a.AppendAsync(Inbox, 8, new byte[1]);
        Assert.Equal(new InboxSize(4, 1501), await a.SizeAsync(Inbox));
        Assert.Equal(new InboxSize(1, 5000), await a.SizeAsync("84099724068:2"));
    }

    [Fact]
    public async Task SizeAsync_InboxLargerThanOneReadBatch_IsCountedWhole()
    {
        var writer = Store();
        const string Inbox = "84099724068:backlog";
        await Task.WhenAll(Enumerable.Range(0, 1200).Select(i => writer.AppendAsync(Inbox, i, new byte[10 + (i % 7)]).AsTask()));

        // A fresh instance has not seen any of it: it reads the whole inbox, in batches.
        var expected = Enumerable.Range(0, 1200).Sum(static i => 10L + (i % 7));
        Assert.Equal(new InboxSize(1200, expected), await Store().SizeAsync(Inbox));
    }

    [Fact]
    public async Task TwoInstances_InboxAtItsMessageCap_ErrInboxFullFromEither()
    {
        var (a, b) = await StartInstancesAsync(static o => o with { MaxInboxMessages = 3 });
        var (onA, onB, user) = await TwoSendersAsync(a, b);
        await using var _ = onA.Socket;
        await using var __ = onB.Socket;

        var answers = new List<NotificationFrame>();
        for (var i = 0; i < 5; i++)
        {
            // Alternately through A and B, into the one inbox of the user's device.
            var (socket, app) = i % 2 == 0 ? onA : onB;
            await socket.SendAsync(RelayTestData.Message(app, user, id: $"m{i}"));
            answers.Add(await socket.ReceiveNotificationAsync());
        }

        Assert.Equal([MsgType.Ack, MsgType.Ack, MsgType.Ack, MsgType.Err, MsgType.Err], answers.Select(static a => a.Type));
        Assert.All(answers.Skip(3), static a => Assert.StartsWith("inbox full", a.Error, StringComparison.Ordinal));
        Assert.Equal(ErrType.ErrMessage, answers[3].ErrorType);

        // The device gets exactly the three accepted messages.
        await using var device = await TestSocket.LoginAsync(b.MessagingUri, user);
        Assert.Equal(["m0", "m1", "m2"], [(await device.ReceiveMessageAsync()).Id, (await device.ReceiveMessageAsync()).Id, (await device.ReceiveMessageAsync()).Id]);
    }

    [Fact]
    public async Task TwoInstances_InboxAtItsByteCap_ErrInboxFull_ASmallMessageStillFits()
    {
        var (a, b) = await StartInstancesAsync(static o => o with { MaxFrameBytes = 4096, MaxInboxBytes = 4096 });
        var (onA, onB, user) = await TwoSendersAsync(a, b);
        await using var _ = onA.Socket;
        await using var __ = onB.Socket;
        var text = new string('x', 1500);

        await onA.Socket.SendAsync(RelayTestData.Message(onA.App, user, id: "big-0", text: text));
        Assert.Equal(MsgType.Ack, (await onA.Socket.ReceiveNotificationAsync()).Type);
        await onB.Socket.SendAsync(RelayTestData.Message(onB.App, user, id: "big-1", text: text));
        Assert.Equal(MsgType.Ack, (await onB.Socket.ReceiveNotificationAsync()).Type);
        await onA.Socket.SendAsync(RelayTestData.Message(onA.App, user, id: "big-2", text: text));
        var refused = await onA.Socket.ReceiveNotificationAsync();
        Assert.Equal(MsgType.Err, refused.Type);
        Assert.StartsWith("inbox full", refused.Error, StringComparison.Ordinal);
        Assert.Contains("bytes", refused.Error, StringComparison.Ordinal);

        await onB.Socket.SendAsync(RelayTestData.Message(onB.App, user, id: "small", text: "s"));
        Assert.Equal(NotificationFrame.Ack("small"), await onB.Socket.ReceiveNotificationAsync());
    }

    private async Task<(NetworkInstance A, NetworkInstance B)> StartInstancesAsync(Func<SelfNetworkOptions, SelfNetworkOptions> configure)
    {
        var a = await NetworkInstance.StartAsync(_registry, _inboxes, AdminToken, configure: configure);
        _instances.Add(a);
        var b = await NetworkInstance.StartAsync(_registry, _inboxes, AdminToken, configure: configure);
        _instances.Add(b);
        return (a, b);
    }

    /// <summary>Two apps the user is connected to, one logged in on each instance.</summary>
    private static async Task<((TestSocket Socket, TestIdentity App) OnA, (TestSocket Socket, TestIdentity App) OnB, TestIdentity User)> TwoSendersAsync(
        NetworkInstance a, NetworkInstance b)
    {
        var appA = await TestIdentity.CreateAppAsync(a.Http, AdminToken, "App on A");
        var appB = await TestIdentity.CreateAppAsync(b.Http, AdminToken, "App on B");
        var user = await TestIdentity.RegisterUserAsync(a.Http);
        await user.ConnectAsync(a.Http, appA.Id);
        await user.ConnectAsync(b.Http, appB.Id);
        return ((await TestSocket.LoginAsync(a.MessagingUri, appA), appA), (await TestSocket.LoginAsync(b.MessagingUri, appB), appB), user);
    }

    private IInboxStore Store()
    {
        var connection = new SelfNatsConnection(_inboxes);
        _connections.Add(connection);
        return new NatsInboxStore(connection);
    }
}
