using Microsoft.Extensions.Time.Testing;
using Self.Network.Tests.Infrastructure;
using Self.Protocol.Frames;

namespace Self.Network.Tests.Relay;

/// <summary>Tests that need a server of their own: a fake clock, default limits, or a restart.</summary>
public sealed class RelayPolicyTests
{
    [Fact]
    public async Task Messages_OverTenAMinuteToOneUser_ErrWithRetryTimeUntilTheWindowPasses()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = await NetworkFixture.StartAsync(TempDirectory.Create(), time);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var app = await TestIdentity.CreateAppAsync(http, server.AdminToken, time: time);
        var user = await TestIdentity.RegisterUserAsync(http, time: time);
        await user.AddDeviceAsync(http, "tablet", time);
        await user.ConnectAsync(http, app.Id, time);
        var otherUser = await TestIdentity.RegisterUserAsync(http, time: time);
        await otherUser.ConnectAsync(http, app.Id, time);
        await using var appSocket = await TestSocket.LoginAsync(server.MessagingUri, app, time: time);

        for (var i = 0; i < 10; i++)
        {
            // One message to both devices (same frame id) counts once.
            await appSocket.SendAsync(RelayTestData.Message(app.Address, user.Address, id: $"m{i}"));
            await appSocket.SendAsync(RelayTestData.Message(app.Address, user.Id + ":tablet", id: $"m{i}"));
            Assert.Equal(MsgType.Ack, (await appSocket.ReceiveNotificationAsync()).Type);
            Assert.Equal(MsgType.Ack, (await appSocket.ReceiveNotificationAsync()).Type);
            time.Advance(TimeSpan.FromSeconds(2));
        }

        var eleventh = RelayTestData.Message(app, user, id: "m10");
        await appSocket.SendAsync(eleventh);
        Assert.Equal(NotificationFrame.Err("m10", ErrType.ErrMessage, "rate limited; retry after 40 s"), await appSocket.ReceiveNotificationAsync());

        // Another recipient has a budget of its own.
        var other = RelayTestData.Message(app, otherUser);
        await appSocket.SendAsync(other);
        Assert.Equal(NotificationFrame.Ack(other.Id), await appSocket.ReceiveNotificationAsync());

        time.Advance(TimeSpan.FromSeconds(40));
        await appSocket.SendAsync(eleventh);
        Assert.Equal(NotificationFrame.Ack("m10"), await appSocket.ReceiveNotificationAsync());
    }

    [Fact]
    public async Task Messages_OneFrameIdReusedToTheSameDevice_CountsEveryTime()
    {
        // Issue 10, hole 3: 32 free uses per client-chosen frame id gave 320 ACKs a minute instead of 10.
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = await NetworkFixture.StartAsync(TempDirectory.Create(), time);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var app = await TestIdentity.CreateAppAsync(http, server.AdminToken, time: time);
        var user = await TestIdentity.RegisterUserAsync(http, time: time);
        await user.ConnectAsync(http, app.Id, time);
        await using var appSocket = await TestSocket.LoginAsync(server.MessagingUri, app, time: time);

        var answers = new List<NotificationFrame>();
        for (var i = 0; i < 40; i++)
        {
            await appSocket.SendAsync(RelayTestData.Message(app.Address, user.Address, id: "reused"));
            answers.Add(await appSocket.ReceiveNotificationAsync());
        }

        Assert.Equal(10, answers.Count(static a => a.Type == MsgType.Ack));
        Assert.All(answers.Skip(10), static a => Assert.StartsWith("rate limited", a.Error, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Frames_OverThePerConnectionLimit_ErrRateLimited()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = await NetworkFixture.StartAsync(TempDirectory.Create(), time, new RateLimitOptions { FramesPerConnection = 3 });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var app = await TestIdentity.CreateAppAsync(http, server.AdminToken, time: time);
        var otherApp = await TestIdentity.CreateAppAsync(http, server.AdminToken, time: time);
        await using var socket = await TestSocket.LoginAsync(server.MessagingUri, app, time: time);

        for (var i = 0; i < 4; i++)
        {
            await socket.SendAsync(RelayTestData.Message(app, otherApp, id: $"f{i}"));
        }

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(NotificationFrame.Ack($"f{i}"), await socket.ReceiveNotificationAsync());
        }

        Assert.Equal(NotificationFrame.Err("f3", ErrType.ErrMessage, "rate limited; retry after 1 s"), await socket.ReceiveNotificationAsync());
        time.Advance(TimeSpan.FromSeconds(1));
        await socket.SendAsync(RelayTestData.Message(app, otherApp, id: "f4"));
        Assert.Equal(NotificationFrame.Ack("f4"), await socket.ReceiveNotificationAsync());
    }

    [Fact]
    public async Task Inbox_SurvivesAServerRestartOnTheSameDataDirectory()
    {
        var directory = TempDirectory.Create();
        TestIdentity app;
        TestIdentity user;
        string adminToken;
        await using (var server = await NetworkFixture.StartAsync(directory, TimeProvider.System))
        {
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            adminToken = server.AdminToken;
            Assert.True(server.AdminTokenGenerated);
            app = await TestIdentity.CreateAppAsync(http, server.AdminToken);
            user = await TestIdentity.RegisterUserAsync(http);
            await user.ConnectAsync(http, app.Id);
            await using var appSocket = await TestSocket.LoginAsync(server.MessagingUri, app);
            var sent = RelayTestData.Message(app, user, text: "kept across restarts");
            await appSocket.SendAsync(sent);
            Assert.Equal(NotificationFrame.Ack(sent.Id), await appSocket.ReceiveNotificationAsync());
        }

        await using var restarted = await NetworkFixture.StartAsync(directory, TimeProvider.System);
        Assert.False(restarted.AdminTokenGenerated);
        Assert.Equal(adminToken, restarted.AdminToken);
        await using var userSocket = await TestSocket.LoginAsync(restarted.MessagingUri, user);
        var received = await userSocket.ReceiveMessageAsync();
        Assert.Equal("kept across restarts", RelayTestData.Text(received));
        Assert.Equal(app.Address, received.Sender);
    }
}
