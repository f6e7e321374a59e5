using Microsoft.Extensions.DependencyInjection;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using Self.Network.Tests.Infrastructure;
using Self.Network.Tests.Relay;
using Self.Protocol.Frames;

namespace Self.Network.Tests.Security;

/// <summary>
/// Hole 4 of issue 10: an account could write ~100 frames/s of up to 1 MiB to itself, kept 30 days, and inboxes had no
/// size cap. Now self-addressed traffic has a budget, each inbox a cap in messages and bytes (ERR "inbox full" over it),
/// and the Self.Network meter's inbox gauges (exported at /metrics) show what the inboxes hold.
/// </summary>
public sealed class InboxCapAndSelfTrafficTests
{
    [Fact]
    public async Task SelfAddressed_OverTheBudget_ErrRateLimitedAndTheRestIsNotStored()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = await NetworkFixture.StartAsync(TempDirectory.Create(), time, new RateLimitOptions { SelfMessagesPerIdentity = 5 });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var user = await TestIdentity.RegisterUserAsync(http, time: time);
        await user.AddDeviceAsync(http, "tablet", time);
        await using var phone = await TestSocket.LoginAsync(server.MessagingUri, user, time: time);

        var answers = new List<NotificationFrame>();
        for (var i = 0; i < 8; i++)
        {
            await phone.SendAsync(RelayTestData.Message(user.Address, user.Id + ":tablet", id: $"sync-{i}"));
            answers.Add(await phone.ReceiveNotificationAsync());
        }

        Assert.Equal(5, answers.Count(static a => a.Type == MsgType.Ack));
        Assert.All(answers.Skip(5), static a => Assert.StartsWith("rate limited", a.Error, StringComparison.Ordinal));
        Assert.Equal(5, InboxGauge(server, "self.network.inbox.messages"));

        // One message fanned out to two own devices still counts once, after the window has passed.
        await user.AddDeviceAsync(http, "laptop", time);
        time.Advance(TimeSpan.FromMinutes(1));
        await phone.SendAsync(RelayTestData.Message(user.Address, user.Id + ":tablet", id: "fan-out"));
        await phone.SendAsync(RelayTestData.Message(user.Address, user.Id + ":laptop", id: "fan-out"));
        Assert.Equal(MsgType.Ack, (await phone.ReceiveNotificationAsync()).Type);
        Assert.Equal(MsgType.Ack, (await phone.ReceiveNotificationAsync()).Type);
    }

    [Fact]
    public async Task Inbox_AtItsMessageCap_ErrInboxFullUntilTheDeviceHasReadIt()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = await NetworkFixture.StartAsync(TempDirectory.Create(), time, new RateLimitOptions { MessagesPerRecipient = 0 }, o => o with { MaxInboxMessages = 3 });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var app = await TestIdentity.CreateAppAsync(http, server.AdminToken, time: time);
        var user = await TestIdentity.RegisterUserAsync(http, time: time);
        await user.ConnectAsync(http, app.Id, time);
        await using var appSocket = await TestSocket.LoginAsync(server.MessagingUri, app, time: time);

        var answers = new List<NotificationFrame>();
        for (var i = 0; i < 5; i++)
        {
            await appSocket.SendAsync(RelayTestData.Message(app, user, id: $"m{i}"));
            answers.Add(await appSocket.ReceiveNotificationAsync());
        }

        Assert.Equal([MsgType.Ack, MsgType.Ack, MsgType.Ack, MsgType.Err, MsgType.Err], answers.Select(static a => a.Type));
        Assert.Equal(ErrType.ErrMessage, answers[3].ErrorType);
        Assert.StartsWith("inbox full", answers[3].Error, StringComparison.Ordinal);
        Assert.Equal(3, InboxGauge(server, "self.network.inbox.largest.messages"));
        Assert.Equal(2, server.Services.GetRequiredService<Self.Network.Diagnostics.NetworkMetrics>().Refusals("inbox_full"));

        // The device gets exactly the three accepted messages; once it has read them, the inbox takes more.
        long offset;
        await using (var device = await TestSocket.LoginAsync(server.MessagingUri, user, time: time))
        {
            var delivered = new List<MessageFrame>();
            for (var i = 0; i < 3; i++)
            {
                delivered.Add(await device.ReceiveMessageAsync());
            }

            Assert.Equal(["m0", "m1", "m2"], delivered.Select(static m => m.Id));
            offset = delivered[^1].Offset;
        }

        await using (var again = await TestSocket.LoginAsync(server.MessagingUri, user, offset: offset, time: time))
        {
            // The login with the offset drops what the device has processed, just after the ACK.
            await Polling.WaitUntilAsync(
                () => InboxGauge(server, "self.network.inbox.messages") == 0, "the inbox is empty after the ACK");

            await appSocket.SendAsync(RelayTestData.Message(app, user, id: "after-read"));
            Assert.Equal(NotificationFrame.Ack("after-read"), await appSocket.ReceiveNotificationAsync());
            Assert.Equal("after-read", (await again.ReceiveMessageAsync()).Id);
        }
    }

    [Fact]
    public async Task Inbox_ItsDeviceConnectedAndReading_NeverFillsWithWhatItWasSent()
    {
        // Found by the benchmark: an app that stays connected confirms what it processed only at its next Auth, so
        // every answer it had long read stayed in its inbox and the 10,001st was refused. The cap counts what waits.
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = await NetworkFixture.StartAsync(TempDirectory.Create(), time, new RateLimitOptions { MessagesPerRecipient = 0 }, o => o with { MaxInboxMessages = 3 });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var app = await TestIdentity.CreateAppAsync(http, server.AdminToken, time: time);
        var user = await TestIdentity.RegisterUserAsync(http, time: time);
        await user.ConnectAsync(http, app.Id, time);
        await using var appSocket = await TestSocket.LoginAsync(server.MessagingUri, app, time: time);

        long offset;
        await using (var device = await TestSocket.LoginAsync(server.MessagingUri, user, time: time))
        {
            for (var i = 0; i < 10; i++)
            {
                await appSocket.SendAsync(RelayTestData.Message(app, user, id: $"live-{i}"));
                Assert.Equal(NotificationFrame.Ack($"live-{i}"), await appSocket.ReceiveNotificationAsync());
                Assert.Equal($"live-{i}", (await device.ReceiveMessageAsync()).Id);
            }

            Assert.Equal(10, InboxGauge(server, "self.network.inbox.messages"));
            offset = 10;
        }

        // Gone without confirming: all ten may come again, so they wait again and the cap holds.
        for (var poll = 0; poll < 200 && server.Services.GetRequiredService<Self.Network.Relay.RelayHub>().Count > 1; poll++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(25), TimeProvider.System);
        }

        await appSocket.SendAsync(RelayTestData.Message(app, user, id: "offline"));
        var refused = await appSocket.ReceiveNotificationAsync();
        Assert.Equal(MsgType.Err, refused.Type);
        Assert.StartsWith("inbox full", refused.Error, StringComparison.Ordinal);

        // The next Auth confirms them: they are dropped and the inbox takes more.
        await using var again = await TestSocket.LoginAsync(server.MessagingUri, user, offset: offset, time: time);
        for (var poll = 0; poll < 200 && InboxGauge(server, "self.network.inbox.messages") != 0; poll++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(25), TimeProvider.System);
        }

        await appSocket.SendAsync(RelayTestData.Message(app, user, id: "confirmed"));
        Assert.Equal(NotificationFrame.Ack("confirmed"), await appSocket.ReceiveNotificationAsync());
        Assert.Equal("confirmed", (await again.ReceiveMessageAsync()).Id);
    }

    [Fact]
    public async Task Inbox_AtItsByteCap_ErrInboxFull()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = await NetworkFixture.StartAsync(
            TempDirectory.Create(), time, new RateLimitOptions { MessagesPerRecipient = 0 }, o => o with { MaxFrameBytes = 4096, MaxInboxBytes = 4096 });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var app = await TestIdentity.CreateAppAsync(http, server.AdminToken, time: time);
        var user = await TestIdentity.RegisterUserAsync(http, time: time);
        await user.ConnectAsync(http, app.Id, time);
        await using var appSocket = await TestSocket.LoginAsync(server.MessagingUri, app, time: time);
        var text = new string('x', 1500);

        var answers = new List<NotificationFrame>();
        for (var i = 0; i < 3; i++)
        {
            await appSocket.SendAsync(RelayTestData.Message(app.Address, user.Address, id: $"big-{i}", text: text));
            answers.Add(await appSocket.ReceiveNotificationAsync());
        }

        Assert.Equal([MsgType.Ack, MsgType.Ack, MsgType.Err], answers.Select(static a => a.Type));
        Assert.Contains("bytes", answers[2].Error, StringComparison.Ordinal);

        // A small message still fits under the byte cap.
        await appSocket.SendAsync(RelayTestData.Message(app.Address, user.Address, id: "small", text: "s"));
        Assert.Equal(NotificationFrame.Ack("small"), await appSocket.ReceiveNotificationAsync());
    }

    [Theory]
    [InlineData(-1, 1024L * 1024 * 1024, "MaxInboxMessages")]
    [InlineData(10, -1L, "MaxInboxBytes")]
    [InlineData(10, 1000L, "MaxInboxBytes")]
    public void Options_BadInboxCaps_AreRefusedByName(int messages, long bytes, string name)
    {
        var options = new SelfNetworkOptions { MaxInboxMessages = messages, MaxInboxBytes = bytes };

        var ex = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal(name, ex.ParamName);
    }

    [Fact]
    public void Options_NegativeSelfBudget_IsRefusedByName()
    {
        var options = new SelfNetworkOptions { RateLimits = new RateLimitOptions { SelfMessagesPerIdentity = -1 } };

        Assert.Equal("SelfMessagesPerIdentity", Assert.Throws<ArgumentException>(options.Validate).ParamName);
    }

    /// <summary>
    /// Reads one of the server's inbox gauges as a metrics exporter would (a <see cref="System.Diagnostics.Metrics.MeterListener"/>),
    /// only from this server's meter: other tests' servers run in the same process.
    /// </summary>
    private static long InboxGauge(SelfNetworkServer server, string name)
    {
        var factory = server.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        long? value = null;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == name && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, measurement, _, _) => value = measurement);
        listener.Start();
        listener.RecordObservableInstruments();
        return value ?? throw new InvalidOperationException($"the server published no {name} gauge");
    }
}
