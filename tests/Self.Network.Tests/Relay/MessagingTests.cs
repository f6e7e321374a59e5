using System.Net.WebSockets;
using Self.Network.Tests.Infrastructure;
using Self.Protocol.Frames;

namespace Self.Network.Tests.Relay;

[Collection(NetworkCollection.Name)]
public sealed class MessagingTests(NetworkFixture fixture)
{
    private HttpClient Http => fixture.Http;

    private Uri Messaging => fixture.Server.MessagingUri;

    private async Task<(TestIdentity App, TestIdentity User)> ConnectedPairAsync()
    {
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        var user = await TestIdentity.RegisterUserAsync(Http);
        await user.ConnectAsync(Http, app.Id);
        return (app, user);
    }

    [Fact]
    public async Task Message_ToAPermittedOnlineUser_IsAckedAndDeliveredWithMetadata()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var userSocket = await TestSocket.LoginAsync(Messaging, user);
        await using var appSocket = await TestSocket.LoginAsync(Messaging, app);
        var sent = RelayTestData.Message(app, user, text: "hello");
        var before = Protocol.UnixTimestamps.ToMilliseconds(TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds());

        await appSocket.SendAsync(sent);

        Assert.Equal(NotificationFrame.Ack(sent.Id), await appSocket.ReceiveNotificationAsync());
        var received = await userSocket.ReceiveMessageAsync();
        Assert.Equal(sent with { Timestamp = received.Timestamp, Offset = received.Offset }, received);
        Assert.True(received.Offset > 0);
        Assert.InRange(received.Timestamp / 1_000_000, before - 1000, before + 60_000);
    }

    [Fact]
    public async Task Message_ToAUserWhoHasNotConnected_ErrWithTheExactTextAndConnectionStaysOpen()
    {
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        var user = await TestIdentity.RegisterUserAsync(Http);
        await using var appSocket = await TestSocket.LoginAsync(Messaging, app);
        var sent = RelayTestData.Message(app, user);

        await appSocket.SendAsync(sent);

        Assert.Equal(NotificationFrame.Err(sent.Id, ErrType.ErrMessage, $"recipient {user.Id} has not connected to {app.Id}"), await appSocket.ReceiveNotificationAsync());
        var otherApp = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        var toApp = RelayTestData.Message(app, otherApp);
        await appSocket.SendAsync(toApp);
        Assert.Equal(NotificationFrame.Ack(toApp.Id), await appSocket.ReceiveNotificationAsync());
    }

    [Fact]
    public async Task Message_AfterThePermitIsRevoked_IsRefused()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var appSocket = await TestSocket.LoginAsync(Messaging, app);
        await Http.CallAsync(HttpMethod.Delete, $"/v1/identities/{user.Id}/connections/{app.Id}", user.Token(), user.Acl(app.Id, "acl.revoke"));
        var sent = RelayTestData.Message(app, user);

        await appSocket.SendAsync(sent);

        var answer = await appSocket.ReceiveNotificationAsync();
        Assert.Equal(MsgType.Err, answer.Type);
        Assert.Equal($"recipient {user.Id} has not connected to {app.Id}", answer.Error);
    }

    [Fact]
    public async Task Message_ForgedSender_IsRefusedWithErrMessage()
    {
        var (app, user) = await ConnectedPairAsync();
        var otherApp = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        await using var otherSocket = await TestSocket.LoginAsync(Messaging, otherApp);
        var forged = RelayTestData.Message(app.Address, user.Address);

        await otherSocket.SendAsync(forged);

        var answer = await otherSocket.ReceiveNotificationAsync();
        Assert.Equal(forged.Id, answer.Id);
        Assert.Equal(MsgType.Err, answer.Type);
        Assert.Equal(ErrType.ErrMessage, answer.ErrorType);
        Assert.Contains("is not the authenticated address", answer.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Message_UnknownRecipientOrInactiveDevice_IsRefused()
    {
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        var otherApp = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        await using var appSocket = await TestSocket.LoginAsync(Messaging, app);

        foreach (var recipient in new[] { "10000000004:1", otherApp.Id + ":7", "not-an-address" })
        {
            var sent = RelayTestData.Message(app.Address, recipient);
            await appSocket.SendAsync(sent);
            var answer = await appSocket.ReceiveNotificationAsync();
            Assert.Equal(MsgType.Err, answer.Type);
            Assert.Equal(ErrType.ErrMessage, answer.ErrorType);
            Assert.Contains(recipient, answer.Error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Message_FromAUserToAnApp_NeedsNoPermit()
    {
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        var user = await TestIdentity.RegisterUserAsync(Http);
        await using var appSocket = await TestSocket.LoginAsync(Messaging, app);
        await using var userSocket = await TestSocket.LoginAsync(Messaging, user);
        var response = RelayTestData.Message(user, app, text: "accepted");

        await userSocket.SendAsync(response);

        Assert.Equal(NotificationFrame.Ack(response.Id), await userSocket.ReceiveNotificationAsync());
        Assert.Equal("accepted", RelayTestData.Text(await appSocket.ReceiveMessageAsync()));
    }

    [Fact]
    public async Task Messages_SentWithoutWaiting_AreAnsweredOnceEachInOrder()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var appSocket = await TestSocket.LoginAsync(Messaging, app);
        var stranger = await TestIdentity.RegisterUserAsync(Http);
        var frames = Enumerable.Range(0, 30)
            .Select(i => i % 7 == 3 ? RelayTestData.Message(app, stranger, id: $"m{i}") : RelayTestData.Message(app, user, id: $"m{i}"))
            .ToList();

        foreach (var frame in frames)
        {
            await appSocket.SendAsync(frame);
        }

        for (var i = 0; i < frames.Count; i++)
        {
            var answer = await appSocket.ReceiveNotificationAsync();
            Assert.Equal($"m{i}", answer.Id);
            Assert.Equal(i % 7 == 3 ? MsgType.Err : MsgType.Ack, answer.Type);
        }
    }

    [Fact]
    public async Task Messages_SentWhileOffline_DeliveredOnReconnectFromTheOffsetAndNotAgain()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var appSocket = await TestSocket.LoginAsync(Messaging, app);
        for (var i = 1; i <= 3; i++)
        {
            var sent = RelayTestData.Message(app, user, text: $"offline {i}");
            await appSocket.SendAsync(sent);
            Assert.Equal(MsgType.Ack, (await appSocket.ReceiveNotificationAsync()).Type);
        }

        long firstOffset;
        long lastOffset;
        await using (var first = await TestSocket.LoginAsync(Messaging, user))
        {
            var m1 = await first.ReceiveMessageAsync();
            var m2 = await first.ReceiveMessageAsync();
            var m3 = await first.ReceiveMessageAsync();
            Assert.Equal(["offline 1", "offline 2", "offline 3"], new[] { m1, m2, m3 }.Select(RelayTestData.Text));
            Assert.True(m1.Offset < m2.Offset && m2.Offset < m3.Offset);
            firstOffset = m1.Offset;
            lastOffset = m3.Offset;
        }

        // Resuming after the first: the other two come again, oldest first.
        await using (var resumed = await TestSocket.LoginAsync(Messaging, user, offset: firstOffset))
        {
            Assert.Equal("offline 2", RelayTestData.Text(await resumed.ReceiveMessageAsync()));
            Assert.Equal("offline 3", RelayTestData.Text(await resumed.ReceiveMessageAsync()));
        }

        // Resuming after the last: nothing old comes back; the next frame is the next new message.
        await using var current = await TestSocket.LoginAsync(Messaging, user, offset: lastOffset);
        var next = RelayTestData.Message(app, user, text: "new");
        await appSocket.SendAsync(next);
        Assert.Equal(MsgType.Ack, (await appSocket.ReceiveNotificationAsync()).Type);
        var received = await current.ReceiveMessageAsync();
        Assert.Equal("new", RelayTestData.Text(received));
        Assert.True(received.Offset > lastOffset);
    }

    [Fact]
    public async Task Messages_SentDuringLogin_EachDeliveredExactlyOnceInOffsetOrder()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var appSocket = await TestSocket.LoginAsync(Messaging, app);
        const int Count = 60;
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < Count; i++)
            {
                await appSocket.SendAsync(RelayTestData.Message(app, user, text: $"n{i}"));
            }

            for (var i = 0; i < Count; i++)
            {
                Assert.Equal(MsgType.Ack, (await appSocket.ReceiveNotificationAsync()).Type);
            }
        });

        await using var userSocket = await TestSocket.LoginAsync(Messaging, user);
        var texts = new List<string>();
        var offsets = new List<long>();
        for (var i = 0; i < Count; i++)
        {
            var message = await userSocket.ReceiveMessageAsync();
            texts.Add(RelayTestData.Text(message));
            offsets.Add(message.Offset);
        }

        await sending;
        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"n{i}"), texts);
        Assert.Equal(offsets.Order(), offsets);
        Assert.Equal(Count, offsets.Distinct().Count());
    }

    [Fact]
    public async Task SecondConnection_SameAddress_SupersedesTheFirstWith1011()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var first = await TestSocket.LoginAsync(Messaging, user);

        await using var second = await TestSocket.LoginAsync(Messaging, user);

        var (status, description) = await first.ReceiveCloseAsync();
        Assert.Equal(WebSocketCloseStatus.InternalServerError, status);
        Assert.Equal("connection superseded", description);
        await using var appSocket = await TestSocket.LoginAsync(Messaging, app);
        await appSocket.SendAsync(RelayTestData.Message(app, user, text: "to the new one"));
        Assert.Equal("to the new one", RelayTestData.Text(await second.ReceiveMessageAsync()));
    }

    [Fact]
    public async Task OversizedFrame_ErrThenClose1009_WhileAnotherClientCarriesOn()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var big = await TestSocket.LoginAsync(Messaging, user);
        await using var appSocket = await TestSocket.LoginAsync(Messaging, app);
        var oversized = RelayTestData.Message(user.Address, app.Address, text: new string('x', 1024 * 1024 + 1));

        await big.SendAsync(oversized);
        var otherApp = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        var sent = RelayTestData.Message(app, otherApp, text: "still here");
        await appSocket.SendAsync(sent);

        var refusal = await big.ReceiveNotificationAsync();
        Assert.Equal(MsgType.Err, refusal.Type);
        Assert.Contains("larger than 1048576 bytes", refusal.Error, StringComparison.Ordinal);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, (await big.ReceiveCloseAsync()).Status);
        Assert.Equal(NotificationFrame.Ack(sent.Id), await appSocket.ReceiveNotificationAsync());
    }

    [Fact]
    public async Task GarbageFrame_ErrBadRequestAndTheConnectionStaysUsable()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var appSocket = await TestSocket.LoginAsync(Messaging, app);

        await appSocket.SendBytesAsync([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]);
        var refusal = await appSocket.ReceiveNotificationAsync();
        var sent = RelayTestData.Message(app, user);
        await appSocket.SendAsync(sent);

        Assert.Equal(MsgType.Err, refusal.Type);
        Assert.Equal(ErrType.ErrBadRequest, refusal.ErrorType);
        Assert.Equal(NotificationFrame.Ack(sent.Id), await appSocket.ReceiveNotificationAsync());
    }

    [Fact]
    public async Task WatchAndSecondAuth_AreAnsweredWithErr()
    {
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        await using var appSocket = await TestSocket.LoginAsync(Messaging, app);

        await appSocket.SendAsync(new WatchFrame("w1", "12345678901:1", true));
        await appSocket.SendAsync(new AuthFrame("a2", app.Token(), "1"));

        var watch = await appSocket.ReceiveNotificationAsync();
        var auth = await appSocket.ReceiveNotificationAsync();
        Assert.Equal(("w1", ErrType.ErrWatch), (watch.Id, watch.ErrorType));
        Assert.Equal(("a2", ErrType.ErrBadRequest), (auth.Id, auth.ErrorType));
    }

    [Fact]
    public async Task Metrics_AfterAMessage_CountAcceptedAndDelivered()
    {
        var (app, user) = await ConnectedPairAsync();
        var metrics = fixture.Server.Services.GetService(typeof(Diagnostics.NetworkMetrics)) as Diagnostics.NetworkMetrics;
        Assert.NotNull(metrics);
        var accepted = metrics.AcceptedMessages;
        var delivered = metrics.DeliveredMessages;
        await using var userSocket = await TestSocket.LoginAsync(Messaging, user);
        await using var appSocket = await TestSocket.LoginAsync(Messaging, app);

        await appSocket.SendAsync(RelayTestData.Message(app, user));
        await appSocket.ReceiveNotificationAsync();
        await userSocket.ReceiveMessageAsync();

        Assert.True(metrics.AcceptedMessages > accepted);
        Assert.True(metrics.DeliveredMessages > delivered);
        Assert.True(metrics.OpenConnections >= 2);
    }

    [Fact]
    public async Task DamagedInboxEntry_IsSkippedAndTheMessagesBehindItArrive()
    {
        var (app, user) = await ConnectedPairAsync();
        var inboxes = (Self.Network.Storage.IInboxStore)fixture.Server.Services.GetService(typeof(Self.Network.Storage.IInboxStore))!;
        await inboxes.AppendAsync(user.Address, 1, new byte[] { 9, 9, 9 });
        await using var appSocket = await TestSocket.LoginAsync(Messaging, app);
        await appSocket.SendAsync(RelayTestData.Message(app, user, text: "behind the damaged one"));
        Assert.Equal(MsgType.Ack, (await appSocket.ReceiveNotificationAsync()).Type);

        await using var userSocket = await TestSocket.LoginAsync(Messaging, user);

        Assert.Equal("behind the damaged one", RelayTestData.Text(await userSocket.ReceiveMessageAsync()));
    }
}
