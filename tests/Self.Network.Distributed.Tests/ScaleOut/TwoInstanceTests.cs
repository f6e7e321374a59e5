using System.Net;
using System.Net.WebSockets;
using NATS.Client.Core;
using NATS.Client.JetStream.Models;
using Self.Network.Distributed.Tests.Infrastructure;
using Self.Network.Nats;
using Self.Network.PostgreSql;
using Self.Network.Storage;
using Self.Network.Tests.Infrastructure;
using Self.Network.Tests.Relay;
using Self.Protocol.Frames;

namespace Self.Network.Distributed.Tests.ScaleOut;

/// <summary>
/// Two server instances on different ports sharing one PostgreSQL schema and one JetStream stream, as a load balancer
/// would put them behind one name: whatever a client does through one is seen through the other.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class TwoInstanceTests(ServicesFixture services) : IAsyncLifetime
{
    private const string AdminToken = "operator-token-shared-by-every-instance";

    private readonly SelfPostgreSqlOptions _registry = services.NewPostgreSql();
    private readonly SelfNatsOptions _inboxes = services.NewNats();
    private NetworkInstance? _a;
    private NetworkInstance? _b;

    private NetworkInstance A => _a!;

    private NetworkInstance B => _b!;

    public async Task InitializeAsync()
    {
        // A registers its backends after AddSelfNetwork, B before: both ways must replace SQLite.
        _a = await NetworkInstance.StartAsync(_registry, _inboxes, AdminToken, backendsFirst: false);
        _b = await NetworkInstance.StartAsync(_registry, _inboxes, AdminToken, backendsFirst: true);
    }

    public async Task DisposeAsync()
    {
        if (_a is not null)
        {
            await _a.DisposeAsync();
        }

        if (_b is not null)
        {
            await _b.DisposeAsync();
        }

        await using var admin = new SelfNatsConnection(_inboxes);
        await admin.JetStream.DeleteStreamAsync(_inboxes.StreamName);
        await services.DropSchemaAsync(_registry.Schema);
    }

    [Fact]
    public void Instances_UseThePostgreSqlRegistryAndTheNatsInboxes()
    {
        foreach (var instance in new[] { A, B })
        {
            Assert.IsType<PostgreSqlIdentityStore>(instance.Services.GetService(typeof(IIdentityStore)));
            Assert.IsType<PostgreSqlDeviceStore>(instance.Services.GetService(typeof(IDeviceStore)));
            Assert.IsType<PostgreSqlOneTimeKeyStore>(instance.Services.GetService(typeof(IOneTimeKeyStore)));
            Assert.IsType<PostgreSqlConnectionStore>(instance.Services.GetService(typeof(IConnectionStore)));
            Assert.IsType<PostgreSqlTokenReplayStore>(instance.Services.GetService(typeof(ITokenReplayStore)));
            Assert.IsType<NatsInboxStore>(instance.Services.GetService(typeof(IInboxStore)));
            Assert.IsType<NatsInboxNotifier>(instance.Services.GetService(typeof(IInboxNotifier)));
        }
    }

    [Fact]
    public async Task TokenAcceptedByA_IsRefusedAsAReplayByB_RestAndWebsocket()
    {
        var user = await TestIdentity.RegisterUserAsync(A.Http);
        var token = user.Token();
        Assert.Equal(HttpStatusCode.OK, (await A.Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", token)).Status);

        var replay = await B.Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", token);
        Assert.Equal(HttpStatusCode.Unauthorized, replay.Status);
        Assert.Equal("token_replayed", replay.Code);

        await using var socket = await TestSocket.ConnectAsync(B.MessagingUri);
        await socket.SendAsync(new AuthFrame("replayed-auth", token, "1"));
        var answer = await socket.ReceiveNotificationAsync();
        Assert.Equal(ErrType.ErrAuth, answer.ErrorType);

        // A fresh token still works on either instance.
        Assert.Equal(HttpStatusCode.OK, (await B.Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", user.Token())).Status);
    }

    [Fact]
    public async Task OneTokenRacedThroughBothInstances_IsAcceptedExactlyOnce()
    {
        var user = await TestIdentity.RegisterUserAsync(A.Http);
        for (var round = 0; round < 10; round++)
        {
            var token = user.Token();
            var answers = await Task.WhenAll(
                A.Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", token),
                B.Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", token));
            Assert.Equal(1, answers.Count(static a => a.Status == HttpStatusCode.OK));
            Assert.Equal(1, answers.Count(static a => a.Code == "token_replayed"));
        }
    }

    [Fact]
    public async Task ReplayMemory_ExpiredEntries_AreReusableAndSwept()
    {
        var store = (PostgreSqlTokenReplayStore)A.Services.GetService(typeof(ITokenReplayStore))!;
        var now = DateTimeOffset.UtcNow;
        Assert.True(await store.TryRememberAsync("issuer", "jti-1", now.AddSeconds(10), now));
        Assert.False(await store.TryRememberAsync("issuer", "jti-1", now.AddSeconds(10), now.AddSeconds(5)));
        Assert.True(await store.TryRememberAsync("issuer", "jti-1", now.AddSeconds(100), now.AddSeconds(11)));
        for (var i = 0; i < 600; i++)
        {
            await store.TryRememberAsync("sweeper", "jti-" + i, now.AddSeconds(1), now.AddSeconds(200));
        }

        // 600 calls make at least two sweeps at now + 200 s, each dropping every entry older than that: at most the last 255 stay.
        await store.TryRememberAsync("late", "x", now.AddSeconds(1000), now.AddSeconds(1000));
        Assert.True(await store.CountAsync() < 300);
    }

    [Fact]
    public async Task UserRegisteredThroughA_IsVisibleWithItsHistoryAndDevicesThroughB()
    {
        var user = await TestIdentity.RegisterUserAsync(A.Http);

        var identity = await B.Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", user.Token());
        var devices = await B.Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices", user.Token());

        Assert.Equal(HttpStatusCode.OK, identity.Status);
        Assert.Equal("individual", identity.Json.GetProperty("type").GetString());
        Assert.Equal(user.Graph.Operations.Count, identity.Json.GetProperty("history").GetArrayLength());
        Assert.Equal(HttpStatusCode.OK, devices.Status);
        Assert.Equal("[\"1\"]", devices.Body);
    }

    [Fact]
    public async Task OneTimeKeysUploadedThroughA_ArePoppedOnceEachThroughAAndB()
    {
        var user = await TestIdentity.RegisterUserAsync(B.Http);
        var app = await TestIdentity.CreateAppAsync(A.Http, AdminToken);
        await user.ConnectAsync(A.Http, app.Id);
        var keys = string.Join(',', Enumerable.Range(0, 20).Select(static i => TestIdentity.OneTimeKey((uint)i + 1)).Select(static k => $"{{\"id\":\"{k.Id}\",\"key\":\"{k.Key}\"}}"));
        var upload = await A.Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices/1/pre_keys", user.Token(), "[" + keys + "]");
        Assert.Equal(HttpStatusCode.OK, upload.Status);

        var pops = await Task.WhenAll(Enumerable.Range(0, 24).Select(i =>
            (i % 2 == 0 ? A : B).Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices/1/pre_keys", app.Token())));

        var handedOut = pops.Where(static p => p.Status == HttpStatusCode.OK).Select(static p => p.Json.GetProperty("id").GetString()).ToList();
        Assert.Equal(20, handedOut.Count);
        Assert.Equal(20, handedOut.Distinct().Count());
        Assert.All(pops.Where(static p => p.Status != HttpStatusCode.OK), static p => Assert.Equal(HttpStatusCode.NotFound, p.Status));
    }

    [Fact]
    public async Task MessageSentThroughA_ReachesTheRecipientOnBLive_ThenReplaysWhenItReconnectsToA()
    {
        var app = await TestIdentity.CreateAppAsync(A.Http, AdminToken);
        var user = await TestIdentity.RegisterUserAsync(B.Http);
        await user.ConnectAsync(B.Http, app.Id);
        var userOnB = await TestSocket.LoginAsync(B.MessagingUri, user);
        await using var appOnA = await TestSocket.LoginAsync(A.MessagingUri, app);

        // Live across instances: stored in JetStream by A, announced over NATS, read and delivered by B.
        var first = RelayTestData.Message(app, user, text: "first, live through B");
        await appOnA.SendAsync(first);
        Assert.Equal(NotificationFrame.Ack(first.Id), await appOnA.ReceiveNotificationAsync());
        var live = await userOnB.ReceiveMessageAsync();
        Assert.Equal(first with { Timestamp = live.Timestamp, Offset = live.Offset }, live);
        Assert.True(live.Offset > 0);

        // The recipient goes away; two more messages wait in its inbox.
        await userOnB.DisposeAsync();
        var second = RelayTestData.Message(app, user, text: "second, stored while away");
        var third = RelayTestData.Message(app, user, text: "third, stored while away");
        await appOnA.SendAsync(second);
        await appOnA.SendAsync(third);
        Assert.Equal(NotificationFrame.Ack(second.Id), await appOnA.ReceiveNotificationAsync());
        Assert.Equal(NotificationFrame.Ack(third.Id), await appOnA.ReceiveNotificationAsync());

        // Back on the other instance, from the offset it had processed: the rest replays in order.
        await using var userOnA = await TestSocket.LoginAsync(A.MessagingUri, user, offset: live.Offset);
        var replayed = new[] { await userOnA.ReceiveMessageAsync(), await userOnA.ReceiveMessageAsync() };
        Assert.Equal(["second, stored while away", "third, stored while away"], replayed.Select(RelayTestData.Text));
        Assert.True(replayed[0].Offset > live.Offset && replayed[1].Offset > replayed[0].Offset);

        // What the client had processed is gone from the stream; what it has not is still there.
        var stored = await A.Services.GetService<IInboxStore>().ReadAsync(user.Address, 0, 10);
        Assert.Equal(replayed.Select(static m => m.Offset), stored.Select(static m => m.Offset));

        // And live again, now with both ends on A.
        var fourth = RelayTestData.Message(app, user, text: "fourth, live on A");
        await appOnA.SendAsync(fourth);
        Assert.Equal(NotificationFrame.Ack(fourth.Id), await appOnA.ReceiveNotificationAsync());
        Assert.Equal("fourth, live on A", RelayTestData.Text(await userOnA.ReceiveMessageAsync()));
    }

    [Fact]
    public async Task SecondConnection_SameAddressOnTheOtherInstance_SupersedesTheFirstWith1011()
    {
        var app = await TestIdentity.CreateAppAsync(A.Http, AdminToken);
        var user = await TestIdentity.RegisterUserAsync(A.Http);
        await user.ConnectAsync(A.Http, app.Id);
        await using var userOnA = await TestSocket.LoginAsync(A.MessagingUri, user);

        await using var userOnB = await TestSocket.LoginAsync(B.MessagingUri, user);

        var (status, description) = await userOnA.ReceiveCloseAsync();
        Assert.Equal(WebSocketCloseStatus.InternalServerError, status);
        Assert.Equal("connection superseded", description);

        // The newer connection stays and gets what is sent, here through A.
        await using var appOnA = await TestSocket.LoginAsync(A.MessagingUri, app);
        var sent = RelayTestData.Message(app, user, text: "to the connection on B");
        await appOnA.SendAsync(sent);
        Assert.Equal(NotificationFrame.Ack(sent.Id), await appOnA.ReceiveNotificationAsync());
        Assert.Equal("to the connection on B", RelayTestData.Text(await userOnB.ReceiveMessageAsync()));
        Assert.Equal(WebSocketState.Open, userOnB.State);
    }

    [Fact]
    public async Task Reconnect_BackToTheFirstInstance_SupersedesTheConnectionOnTheSecond()
    {
        var app = await TestIdentity.CreateAppAsync(B.Http, AdminToken);
        var user = await TestIdentity.RegisterUserAsync(A.Http);
        await user.ConnectAsync(A.Http, app.Id);
        await using var first = await TestSocket.LoginAsync(A.MessagingUri, user);
        await using var second = await TestSocket.LoginAsync(B.MessagingUri, user);
        Assert.Equal("connection superseded", (await first.ReceiveCloseAsync()).Description);

        await using var third = await TestSocket.LoginAsync(A.MessagingUri, user);

        Assert.Equal("connection superseded", (await second.ReceiveCloseAsync()).Description);
        await using var appOnB = await TestSocket.LoginAsync(B.MessagingUri, app);
        var sent = RelayTestData.Message(app, user, text: "to the connection back on A");
        await appOnB.SendAsync(sent);
        Assert.Equal(NotificationFrame.Ack(sent.Id), await appOnB.ReceiveNotificationAsync());
        Assert.Equal("to the connection back on A", RelayTestData.Text(await third.ReceiveMessageAsync()));
    }

    [Fact]
    public async Task Ack_IsSentOnlyOnceJetStreamHasStoredTheMessage()
    {
        var app = await TestIdentity.CreateAppAsync(A.Http, AdminToken);
        var user = await TestIdentity.RegisterUserAsync(A.Http);
        await user.ConnectAsync(A.Http, app.Id);
        await using var userOnB = await TestSocket.LoginAsync(B.MessagingUri, user);
        await using var appOnA = await TestSocket.LoginAsync(A.MessagingUri, app);
        await using var admin = new SelfNatsConnection(_inboxes);
        var stream = await admin.JetStream.GetStreamAsync(_inboxes.StreamName);
        var config = stream.Info.Config;

        // Park the stream on other subjects: JetStream now stores nothing published to the inboxes.
        await stream.UpdateAsync(config with { Subjects = [_inboxes.InboxSubjectPrefix + "-parked.>"] });
        var refused = RelayTestData.Message(app, user, text: "not stored");
        await appOnA.SendAsync(refused);
        var answer = await appOnA.ReceiveNotificationAsync();
        Assert.Equal(MsgType.Err, answer.Type);
        Assert.Equal(refused.Id, answer.Id);
        Assert.Equal(ErrType.ErrInternal, answer.ErrorType);

        // Back on its subjects: the sender's retry is stored, and only then acknowledged.
        await stream.UpdateAsync(config);
        await appOnA.SendAsync(refused);
        Assert.Equal(NotificationFrame.Ack(refused.Id), await appOnA.ReceiveNotificationAsync());
        var delivered = await userOnB.ReceiveMessageAsync();
        Assert.Equal("not stored", RelayTestData.Text(delivered));
        var inStream = (await stream.GetAsync(new StreamMsgGetRequest { Seq = (ulong)delivered.Offset })).Message;
        Assert.Equal(_inboxes.InboxSubjectPrefix + "." + user.Id + ".1", inStream.Subject);
    }

    [Fact]
    public async Task NatsServerKilledAndRestarted_InstancesReconnectAndDeliverLiveAgain()
    {
        // A NATS server of this test's own, since it is killed; two more instances on it.
        await using var server = await NatsServer.StartAsync();
        var inboxes = _inboxes with { Url = server.Url };
        await using var c = await NetworkInstance.StartAsync(_registry, inboxes, AdminToken);
        await using var d = await NetworkInstance.StartAsync(_registry, inboxes, AdminToken);
        var app = await TestIdentity.CreateAppAsync(c.Http, AdminToken);
        var user = await TestIdentity.RegisterUserAsync(c.Http);
        await user.ConnectAsync(c.Http, app.Id);
        await using var userOnD = await TestSocket.LoginAsync(d.MessagingUri, user);
        await using var appOnC = await TestSocket.LoginAsync(c.MessagingUri, app);

        await server.KillAndRestartAsync();
        await WaitUntilConnectedAsync(c);
        await WaitUntilConnectedAsync(d);

        var sent = RelayTestData.Message(app, user, text: "after the restart");
        await appOnC.SendAsync(sent);
        Assert.Equal(NotificationFrame.Ack(sent.Id), await appOnC.ReceiveNotificationAsync());
        Assert.Equal("after the restart", RelayTestData.Text(await userOnD.ReceiveMessageAsync()));
    }

    private static async Task WaitUntilConnectedAsync(NetworkInstance instance)
    {
        var connection = instance.Services.GetService<SelfNatsConnection>().Connection;
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(60);
        while (connection.ConnectionState != NatsConnectionState.Open)
        {
            Assert.True(TimeProvider.System.GetUtcNow() < deadline, "the instance did not reconnect to NATS within 60 s");
            await Task.Delay(50);
        }
    }
}

internal static class ServiceProviderExtensions
{
    public static T GetService<T>(this IServiceProvider services)
        where T : notnull =>
        (T)(services.GetService(typeof(T)) ?? throw new InvalidOperationException($"{typeof(T).Name} is not registered."));
}
