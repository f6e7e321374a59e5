using System.Net;
using Self.Crypto.Envelope;
using Self.Crypto.Olm;
using Self.Messaging.Tests.Infrastructure;
using Self.Protocol;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;

namespace Self.Messaging.Tests;

public sealed class SecureMessagingTests(TestNetwork network) : IClassFixture<TestNetwork>
{
    [Fact]
    public async Task TwoPeers_ExchangeSignedEncryptedMessagesBothWays_PreKeyFirstThenNormal()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var appPeer = await TestPeer.StartAsync(network, app, TempDirectory.Create("app"));
        await using var userPeer = await TestPeer.StartAsync(network, user, TempDirectory.Create("user"));

        var request = TestNetwork.Message(app, user.Id, "request");
        await appPeer.Messenger.SendAsync(user.Id, request, priority: 1);
        var atUser = await userPeer.NextAsync();

        Assert.Equal(app.Address, atUser.Sender);
        Assert.Equal(request, atUser.Jws);
        Assert.Equal("test.message", atUser.Type);
        Assert.True(atUser.Offset > 0);

        var reply = TestNetwork.Message(user, app.Id, "reply");
        await userPeer.Messenger.SendAsync(app.Id, reply);
        var atApp = await appPeer.NextAsync();
        Assert.Equal(user.Address, atApp.Sender);
        Assert.Equal("reply", TestNetwork.TextOf(atApp.Jws));

        await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "second"));
        Assert.Equal("second", TestNetwork.TextOf((await userPeer.NextAsync()).Jws));

        Assert.Equal([OlmMessageType.PreKey, OlmMessageType.Normal], userPeer.IncomingEntryTypes);
        Assert.Equal([OlmMessageType.Normal], appPeer.IncomingEntryTypes);
    }

    [Fact]
    public async Task SendAsync_RecipientWithTwoDevices_OneEnvelopeOneFrameEachSameId()
    {
        var (app, user) = await ConnectedPairAsync();
        var userRest = network.RestFor(user);
        var graph = SignatureGraph.Load(await userRest.GetHistoryAsync(user.Id));
        var secondKey = SigningKey.Generate();
        await userRest.AppendHistoryAsync(HistoryOperations.AddDevice(graph, user.DeviceKey, secondKey, "2", TimeProvider.System.GetUtcNow()));
        await userRest.RegisterDeviceAsync("2", "test");
        var secondDevice = user with { DeviceId = "2", DeviceKey = secondKey };
        await using var phone = await TestPeer.StartAsync(network, user, TempDirectory.Create("user-1"));
        await using var tablet = await TestPeer.StartAsync(network, secondDevice, TempDirectory.Create("user-2"));
        await using var appPeer = await TestPeer.StartAsync(network, app, TempDirectory.Create("app"));

        var message = TestNetwork.Message(app, user.Id, "to every device");
        await appPeer.Messenger.SendAsync(user.Id, message);

        Assert.Equal(message, (await phone.NextAsync()).Jws);
        Assert.Equal(message, (await tablet.NextAsync()).Jws);
        var atPhone = Assert.Single(phone.IncomingFrames);
        var atTablet = Assert.Single(tablet.IncomingFrames);
        Assert.Equal(atPhone.Id, atTablet.Id);
        Assert.Equal(atPhone.Ciphertext.ToArray(), atTablet.Ciphertext.ToArray());
        var envelope = GroupEnvelope.Parse(atPhone.Ciphertext.Span);
        Assert.Equal([user.Address.ToString(), secondDevice.Address.ToString()], envelope.Recipients.Keys.Order());
        Assert.Equal("test.message", System.Text.Encoding.UTF8.GetString(atPhone.MessageType.Span));
    }

    [Fact]
    public async Task Receive_SenderRotatedItsKey_DirectoryRefreshesOnUnknownKidAndVerifies()
    {
        // History timestamps in the past so that the rotated key is valid at the reply's iat.
        var now = TimeProvider.System.GetUtcNow();
        var app = await network.CreateAppAsync();
        var user = await network.RegisterUserAsync(created: now.AddSeconds(-60));
        await network.PermitAsync(user, app.Id);
        var userFolder = TempDirectory.Create("user");
        await using var appPeer = await TestPeer.StartAsync(network, app, TempDirectory.Create("app"));
        await using (var userPeer = await TestPeer.StartAsync(network, user, userFolder))
        {
            await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "hello"));
            await userPeer.NextAsync();
            await userPeer.Messenger.SendAsync(app.Id, TestNetwork.Message(user, app.Id, "signed with the first key"));
            await appPeer.NextAsync();
        }

        var newKey = SigningKey.Generate();
        var rest = network.RestFor(user);
        var graph = SignatureGraph.Load(await rest.GetHistoryAsync(user.Id));
        await rest.AppendHistoryAsync(HistoryOperations.RotateDeviceKey(graph, user.DeviceKey, "1", newKey, now.AddSeconds(-30)));
        var rotated = user with { DeviceKey = newKey };

        await using var userAgain = await TestPeer.StartAsync(network, rotated, userFolder);
        await userAgain.Messenger.SendAsync(app.Id, TestNetwork.Message(rotated, app.Id, "signed with the new key"));

        var reply = await appPeer.NextAsync();
        Assert.Equal("signed with the new key", TestNetwork.TextOf(reply.Jws));
        Assert.Equal(newKey.Kid, reply.Jws.Header.Kid);
    }

    [Fact]
    public async Task SendAsync_RecipientHasNotConnected_ThrowsRefusedNamingUserAndApp()
    {
        var app = await network.CreateAppAsync();
        var user = await network.RegisterUserAsync();
        await using (await TestPeer.StartAsync(network, user, TempDirectory.Create("user")))
        {
        }

        await using var appPeer = await TestPeer.StartAsync(network, app, TempDirectory.Create("app"));

        var error = await Assert.ThrowsAsync<MessageRefusedException>(
            () => appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "hello")));

        Assert.True(error.IsNotConnected);
        Assert.Equal($"recipient {user.Id} has not connected to {app.Id}", error.Reason);
        var cause = Assert.IsType<SelfApiException>(error.InnerException);
        Assert.Equal(HttpStatusCode.Forbidden, cause.StatusCode);
    }

    [Fact]
    public async Task SendAsync_UnknownRecipient_ThrowsNotFound()
    {
        var app = await network.CreateAppAsync();
        await using var appPeer = await TestPeer.StartAsync(network, app, TempDirectory.Create("app"));

        var error = await Assert.ThrowsAsync<SelfApiException>(
            () => appPeer.Messenger.SendAsync("99999999999", TestNetwork.Message(app, "99999999999", "hello")));

        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task Endpoint_RecipientOfflineWhenSent_GetsMessageWhenItStartsAgain()
    {
        var (app, user) = await ConnectedPairAsync();
        var userFolder = TempDirectory.Create("user");
        await using (var first = new SelfEndpoint(network.EndpointOptions(user, userFolder)))
        {
            await first.StartAsync();
        }

        await using var appEndpoint = new SelfEndpoint(network.EndpointOptions(app, TempDirectory.Create("app")));
        await appEndpoint.StartAsync();
        await appEndpoint.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "while you were away"));

        await using var again = new SelfEndpoint(network.EndpointOptions(user, userFolder));
        var received = new TaskCompletionSource<ReceivedMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        again.Subscribe((message, _) =>
        {
            received.TrySetResult(message);
            return ValueTask.CompletedTask;
        });
        await again.StartAsync();

        var message = await received.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("while you were away", TestNetwork.TextOf(message.Jws));
        Assert.Equal(app.Address, message.Sender);
    }

    [Fact]
    public async Task Endpoint_ReadMessagesAsync_StreamsMessagesInOrder()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var userEndpoint = new SelfEndpoint(network.EndpointOptions(user, TempDirectory.Create("user")));
        await userEndpoint.StartAsync();
        await using var appEndpoint = new SelfEndpoint(network.EndpointOptions(app, TempDirectory.Create("app")));
        await appEndpoint.StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var reading = Task.Run(async () =>
        {
            var texts = new List<string>();
            await foreach (var message in userEndpoint.ReadMessagesAsync(cts.Token))
            {
                texts.Add(TestNetwork.TextOf(message.Jws));
                if (texts.Count == 3)
                {
                    break;
                }
            }

            return texts;
        });

        for (var i = 1; i <= 3; i++)
        {
            await appEndpoint.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "m" + i));
        }

        Assert.Equal(["m1", "m2", "m3"], await reading);
    }

    [Fact]
    public async Task Endpoint_MessagesBeforeAnySubscriber_GoToTheFirstSubscriberInOrder()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var userEndpoint = new SelfEndpoint(network.EndpointOptions(user, TempDirectory.Create("user")));
        await userEndpoint.StartAsync();
        await using var appEndpoint = new SelfEndpoint(network.EndpointOptions(app, TempDirectory.Create("app")));
        await appEndpoint.StartAsync();
        await appEndpoint.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "early 1"));
        await appEndpoint.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "early 2"));
        await Polling.WaitUntilAsync(async () => await userEndpoint.Store.GetProcessedOffsetAsync() >= 2, "the user has processed both early messages");

        var texts = System.Threading.Channels.Channel.CreateUnbounded<string>();
        using var subscription = userEndpoint.Subscribe((message, _) =>
        {
            texts.Writer.TryWrite(TestNetwork.TextOf(message.Jws));
            return ValueTask.CompletedTask;
        });
        await appEndpoint.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "late"));

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Equal("early 1", await texts.Reader.ReadAsync(cts.Token));
        Assert.Equal("early 2", await texts.Reader.ReadAsync(cts.Token));
        Assert.Equal("late", await texts.Reader.ReadAsync(cts.Token));
    }

    [Fact]
    public async Task Restart_SameStorage_KeepsSessionsAndOffsetAndDoesNotRedeliver()
    {
        var (app, user) = await ConnectedPairAsync();
        var appFolder = TempDirectory.Create("app");
        var userFolder = TempDirectory.Create("user");
        long offsetBefore;
        await using (var appPeer = await TestPeer.StartAsync(network, app, appFolder))
        await using (var userPeer = await TestPeer.StartAsync(network, user, userFolder))
        {
            await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "m1"));
            offsetBefore = (await userPeer.NextAsync()).Offset;
            await userPeer.Messenger.SendAsync(app.Id, TestNetwork.Message(user, app.Id, "r1"));
            await appPeer.NextAsync();
        }

        await using var appAgain = await TestPeer.StartAsync(network, app, appFolder);
        await using var userAgain = await TestPeer.StartAsync(network, user, userFolder);
        Assert.Equal(offsetBefore, userAgain.Messenger.ProcessedOffset);
        Assert.Equal(offsetBefore, await userAgain.Store.GetProcessedOffsetAsync());

        await appAgain.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "m2"));
        var next = await userAgain.NextAsync();

        Assert.Equal("m2", TestNetwork.TextOf(next.Jws));
        Assert.True(next.Offset > offsetBefore);
        // The app's stored session had already heard from the user: a normal message, no new pre-key session.
        Assert.Equal([OlmMessageType.Normal], userAgain.IncomingEntryTypes);
        Assert.False(userAgain.TryTakeReceived(out _));
    }

    [Fact]
    public async Task Endpoint_WrongStorageKey_FailsClearlyAndLeavesStoreUsable()
    {
        var user = await network.RegisterUserAsync();
        var folder = TempDirectory.Create("user");
        await using (var first = new SelfEndpoint(network.EndpointOptions(user, folder, "the-right-key")))
        {
            await first.StartAsync();
        }

        await using (var wrong = new SelfEndpoint(network.EndpointOptions(user, folder, "a-wrong-key")))
        {
            var error = await Assert.ThrowsAsync<StorageKeyException>(() => wrong.StartAsync());
            Assert.Contains("storage key", error.Message);
        }

        await using var right = new SelfEndpoint(network.EndpointOptions(user, folder, "the-right-key"));
        await right.StartAsync();
        Assert.Equal(ConnectionState.Connected, right.Connection.State);
    }

    [Fact]
    public async Task Receive_AlteredOrForgedMessages_AreDroppedAndOnlyTheValidOneIsDelivered()
    {
        var (sender, user) = await ConnectedPairAsync();
        await using var userPeer = await TestPeer.StartAsync(network, user, TempDirectory.Create("user"));
        await using var raw = await RawSender.StartAsync(network, sender);
        var session = await raw.NewSessionAsync(user);

        // 1: the body altered; 2: the Olm entry altered; 3: signed by another key under the sender's kid;
        // 4: an issuer that is not the sending identity; 5: valid.
        await raw.SendAsync(user, RawSender.TamperBody(RawSender.Seal(session, user, TestNetwork.Message(sender, user.Id, "altered body"))));
        await raw.SendAsync(user, RawSender.TamperEntry(RawSender.Seal(session, user, TestNetwork.Message(sender, user.Id, "altered entry")), user));
        await raw.SendAsync(user, RawSender.Seal(session, user, TestNetwork.Message(sender, user.Id, "forged", signWith: SigningKey.Generate())));
        var other = await network.CreateAppAsync();
        await raw.SendAsync(user, RawSender.Seal(session, user, TestNetwork.Message(sender, user.Id, "wrong issuer", issuer: other.Id)));
        await raw.SendAsync(user, RawSender.Seal(session, user, TestNetwork.Message(sender, user.Id, "valid")));

        var delivered = await userPeer.NextAsync();
        Assert.Equal("valid", TestNetwork.TextOf(delivered.Jws));
        Assert.False(userPeer.TryTakeReceived(out _));
        Assert.Equal(delivered.Offset, userPeer.Messenger.ProcessedOffset);
        Assert.Equal(5, userPeer.IncomingEntryTypes.Count);
    }

    [Fact]
    public async Task Receive_SameJtiTwice_IsDeliveredOnce()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var appPeer = await TestPeer.StartAsync(network, app, TempDirectory.Create("app"));
        await using var userPeer = await TestPeer.StartAsync(network, user, TempDirectory.Create("user"));
        var message = TestNetwork.Message(app, user.Id, "once");

        await appPeer.Messenger.SendAsync(user.Id, message);
        await appPeer.Messenger.SendAsync(user.Id, message);
        await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "after"));

        Assert.Equal("once", TestNetwork.TextOf((await userPeer.NextAsync()).Jws));
        Assert.Equal("after", TestNetwork.TextOf((await userPeer.NextAsync()).Jws));
        Assert.Equal(3, userPeer.IncomingEntryTypes.Count);
    }

    [Fact]
    public async Task OneTimeKeys_FirstStart_PublishesHundred()
    {
        var user = await network.RegisterUserAsync();
        var app = await network.CreateAppAsync();
        await network.PermitAsync(user, app.Id);
        await using var userPeer = await TestPeer.StartAsync(network, user, TempDirectory.Create("user"));

        Assert.Equal(OlmAccount.OneTimeKeyBatchSize, userPeer.Messenger.UnusedOneTimeKeyCount);
        var appRest = network.RestFor(app);
        for (var i = 0; i < 100; i++)
        {
            await appRest.PopPreKeyAsync(user.Id, "1");
        }

        var exhausted = await Assert.ThrowsAsync<SelfApiException>(() => appRest.PopPreKeyAsync(user.Id, "1"));
        Assert.Equal(HttpStatusCode.NotFound, exhausted.StatusCode);
    }

    [Fact]
    public async Task OneTimeKeys_FewerThanTenLeft_HundredMoreArePublished()
    {
        var (sender, user) = await ConnectedPairAsync();
        await using var userPeer = await TestPeer.StartAsync(network, user, TempDirectory.Create("user"));
        await using var raw = await RawSender.StartAsync(network, sender);

        // Each message starts a new session, which uses up one of the user's 100 one-time keys.
        OlmSession? last = null;
        for (var i = 0; i < 91; i++)
        {
            last = await raw.NewSessionAsync(user);
            await raw.SendAsync(user, RawSender.Seal(last, user, TestNetwork.Message(sender, user.Id, "session " + i)));
        }

        for (var i = 0; i < 91; i++)
        {
            await userPeer.NextAsync();
        }

        // Frames are processed one at a time: once this one arrives, the replenishment after the 91st is done.
        await raw.SendAsync(user, RawSender.Seal(last!, user, TestNetwork.Message(sender, user.Id, "marker")));
        Assert.Equal("marker", TestNetwork.TextOf((await userPeer.NextAsync()).Jws));

        Assert.Equal(9 + OlmAccount.OneTimeKeyBatchSize, userPeer.Messenger.UnusedOneTimeKeyCount);
        for (var i = 0; i < 9 + OlmAccount.OneTimeKeyBatchSize; i++)
        {
            await raw.Rest.PopPreKeyAsync(user.Id, "1");
        }

        await Assert.ThrowsAsync<SelfApiException>(() => raw.Rest.PopPreKeyAsync(user.Id, "1"));
    }

    private async Task<(TestIdentity App, TestIdentity User)> ConnectedPairAsync()
    {
        var app = await network.CreateAppAsync();
        var user = await network.RegisterUserAsync();
        await network.PermitAsync(user, app.Id);
        return (app, user);
    }
}
