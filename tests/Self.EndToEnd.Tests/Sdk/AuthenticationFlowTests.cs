using Self.Device;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Sdk;
using Self.Sdk.Authentication;
using Self.Sdk.Connections;

namespace Self.EndToEnd.Tests.Sdk;

/// <summary>The whole flow, app SDK → network → real device → network → app, in each calling style.</summary>
[Collection(NetworkCollection.Name)]
public sealed class AuthenticationFlowTests(NetworkFixture network) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _storage = new("sdk-flow");

    public void Dispose() => _storage.Dispose();

    [Fact]
    public async Task Blocking_UserAccepts_ReturnsAcceptedFromThatUsersDevice()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        await using var device = await TestDevices.RegisterAsync(network, _storage, ConsentPolicies.AlwaysAccept);
        await device.ConnectAsync(app.AppId);

        var response = await client.Authentication.RequestAsync(device.SelfId).WaitAsync(Patience);

        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
        Assert.True(response.Accepted);
        Assert.Equal(device.SelfId, response.SelfId);
        Assert.Equal(device.DeviceId, response.DeviceId);
    }

    [Fact]
    public async Task NonBlocking_UserRejects_CallbackRunsOnceWithRejected()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        await using var device = await TestDevices.RegisterAsync(network, _storage, ConsentPolicies.AlwaysReject);
        await device.ConnectAsync(app.AppId);
        var outcome = new TaskCompletionSource<AuthenticationResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var published = new List<string>();
        using var subscription = client.Authentication.Subscribe(r => { lock (published) { published.Add(r.ConversationId); } });

        var cid = await client.Authentication.RequestAsync(device.SelfId, r =>
        {
            Interlocked.Increment(ref calls);
            outcome.TrySetResult(r);
        });

        var response = await outcome.Task.WaitAsync(Patience);
        Assert.Equal(AuthenticationStatus.Rejected, response.Status);
        Assert.Equal(cid, response.ConversationId);
        Assert.False(response.Accepted);
        // No sleep: a later answer from the same device, heard by the subscribers (who hear an outcome after its
        // callback), comes after anything more the first answer could have caused.
        var later = await client.Authentication.RequestAsync(device.SelfId).WaitAsync(Patience);
        await Polling.WaitUntilAsync(() => { lock (published) { return published.Contains(later.ConversationId); } }, "the later outcome is published");
        Assert.Equal(1, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task Asynchronous_CustomCid_AnswerArrivesAtSubscriptionAndStream()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        await using var device = await TestDevices.RegisterAsync(network, _storage, ConsentPolicies.AlwaysAccept);
        await device.ConnectAsync(app.AppId);
        var subscribed = new TaskCompletionSource<AuthenticationResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = client.Authentication.Subscribe(r => subscribed.TrySetResult(r));
        using var stop = new CancellationTokenSource(Patience);
        var streamed = ReadFirstAsync(client.Authentication.ReadResponsesAsync(stop.Token));
        var cid = "checkout-" + Guid.NewGuid();

        var returned = await client.Authentication.SendAsync(device.SelfId, new AuthenticationRequestOptions
        {
            ConversationId = cid,
            Description = "Confirm the order",
            BindingMessage = "red-fox-7",
        });

        Assert.Equal(cid, returned);
        var fromSubscription = await subscribed.Task.WaitAsync(Patience);
        var fromStream = await streamed.WaitAsync(Patience);
        Assert.Equal(cid, fromSubscription.ConversationId);
        Assert.Equal(AuthenticationStatus.Accepted, fromSubscription.Status);
        Assert.Equal(fromSubscription, fromStream);
    }

    [Fact]
    public async Task Request_DeviceSeesWhoAsksAndWhy_ThenAnswersByHand()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage, name: "Bank of Tests");
        await using var _ = client;
        await using var device = await TestDevices.RegisterAsync(network, _storage, ConsentPolicies.Ask);
        await device.ConnectAsync(app.AppId);
        using var stop = new CancellationTokenSource(Patience);
        var incoming = ReadFirstAsync(device.ReadRequestsAsync(stop.Token));

        var pending = client.Authentication.RequestAsync(device.SelfId, new AuthenticationRequestOptions
        {
            Description = "Sign in to online banking",
            BindingMessage = "green-owl-3",
        });
        var request = await incoming.WaitAsync(Patience);
        Assert.Equal(app.AppId, request.AppId);
        Assert.Equal("Bank of Tests", request.AppName);
        Assert.Equal("Sign in to online banking", request.Description);
        Assert.Equal("green-owl-3", request.BindingMessage);
        await request.AcceptAsync();

        var response = await pending.WaitAsync(Patience);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
        Assert.Equal(request.ConversationId, response.ConversationId);
    }

    [Fact]
    public async Task DeviceOffline_WhenRequestSent_AnswersAfterReconnecting()
    {
        var app = await TestIdentities.CreateAppAsync(network);
        var log = new LogRecorder();
        await using var client = new SelfClient(TestIdentities.ClientOptions(network, app, _storage) with { LoggerFactory = log });
        await client.StartAsync();
        var folder = _storage.Sub("offline-device");
        string selfId;
        await using (var registered = await SelfDevice.RegisterAsync(TestDevices.Options(network, folder, ConsentPolicies.AlwaysAccept)))
        {
            await registered.ConnectAsync(app.AppId);
            selfId = registered.SelfId;
        }

        // Sent while no device of the user is online: the network keeps it in the device's inbox. No sleep: the client
        // says when the network has stored it (log event 4002), and a second request's acknowledgement on the same
        // connection comes after any refusal of the first.
        var cid = "offline-" + Guid.NewGuid();
        var pending = client.Authentication.RequestAsync(selfId, new AuthenticationRequestOptions { ConversationId = cid });
        await log.WaitForAsync(4002, "Cid", cid);
        await client.Authentication.SendAsync(selfId);
        Assert.False(pending.IsCompleted);

        await using var device = await SelfDevice.OpenAsync(TestDevices.Options(network, folder, ConsentPolicies.AlwaysAccept));
        var response = await pending.WaitAsync(Patience);

        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
        Assert.Equal(selfId, response.SelfId);
    }

    [Fact]
    public async Task AppRestarts_BetweenRequestAndAnswer_AnswerStillMatched()
    {
        var app = await TestIdentities.CreateAppAsync(network);
        var options = TestIdentities.ClientOptions(network, app, _storage);
        await using var device = await TestDevices.RegisterAsync(network, _storage, ConsentPolicies.Ask);
        await device.ConnectAsync(app.AppId);
        using var stop = new CancellationTokenSource(Patience);
        var incoming = ReadFirstAsync(device.ReadRequestsAsync(stop.Token));

        string cid;
        await using (var before = new SelfClient(options))
        {
            await before.StartAsync();
            cid = await before.Authentication.SendAsync(device.SelfId);
        }

        // The app is down when the user answers; the answer waits in the app's inbox.
        var request = await incoming.WaitAsync(Patience);
        Assert.Equal(cid, request.ConversationId);
        await request.AcceptAsync();

        await using var after = new SelfClient(options);
        var delivered = new TaskCompletionSource<AuthenticationResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = after.Authentication.Subscribe(r => delivered.TrySetResult(r));
        await after.StartAsync();

        var response = await delivered.Task.WaitAsync(Patience);
        Assert.Equal(cid, response.ConversationId);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
        Assert.Equal(AuthenticationStatus.Accepted, (await after.Authentication.WaitForResponseAsync(cid)).Status);
    }

    [Fact]
    public async Task TwoDevicesOfOneUser_FirstAnswerWins()
    {
        var app = await TestIdentities.CreateAppAsync(network);
        var log = new LogRecorder();
        await using var client = new SelfClient(TestIdentities.ClientOptions(network, app, _storage) with { LoggerFactory = log });
        await client.StartAsync();
        await using var first = await TestDevices.RegisterAsync(network, _storage, ConsentPolicies.Ask);
        var enrollment = await first.AddDeviceAsync("2");
        await using var second = await SelfDevice.EnrollAsync(
            TestDevices.Options(network, _storage.Sub("second-device"), ConsentPolicies.Ask), enrollment);
        await first.ConnectAsync(app.AppId);
        using var stop = new CancellationTokenSource(Patience);
        var atFirst = ReadFirstAsync(first.ReadRequestsAsync(stop.Token));
        var atSecond = ReadFirstAsync(second.ReadRequestsAsync(stop.Token));
        var outcomes = new List<AuthenticationResponse>();
        using var subscription = client.Authentication.Subscribe(r => { lock (outcomes) { outcomes.Add(r); } });

        var pending = client.Authentication.RequestAsync(first.SelfId);
        var requestAtFirst = await atFirst.WaitAsync(Patience);
        var requestAtSecond = await atSecond.WaitAsync(Patience);
        Assert.Equal(requestAtFirst.ConversationId, requestAtSecond.ConversationId);

        await requestAtSecond.RejectAsync();
        var response = await pending.WaitAsync(Patience);
        await requestAtFirst.AcceptAsync();
        // No sleep: the client says when it has dropped the late answer (log event 4003 for this cid).
        await log.WaitForAsync(4003, "Cid", response.ConversationId);

        Assert.Equal(AuthenticationStatus.Rejected, response.Status);
        Assert.Equal("2", response.DeviceId);
        lock (outcomes)
        {
            Assert.Equal(AuthenticationStatus.Rejected, Assert.Single(outcomes).Status);
        }
    }

    [Fact]
    public async Task UserDisconnects_RightAfterAnAnswer_NextRequestRefusedDespiteCachedDeviceList()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        await using var device = await TestDevices.RegisterAsync(network, _storage, ConsentPolicies.AlwaysAccept);
        await device.ConnectAsync(app.AppId);
        Assert.True((await client.Authentication.RequestAsync(device.SelfId).WaitAsync(Patience)).Accepted);

        // The app still holds the user's device list; the network's permit check must refuse all the same.
        await device.DisconnectAsync(app.AppId);
        var error = await Assert.ThrowsAsync<NotConnectedException>(() => client.Authentication.RequestAsync(device.SelfId));
        Assert.Equal(device.SelfId, error.SelfId);

        await device.ConnectAsync(app.AppId);
        Assert.True((await client.Authentication.RequestAsync(device.SelfId).WaitAsync(Patience)).Accepted);
    }

    [Fact]
    public async Task QrCode_ScannedByADevice_AnswerNamesTheUser()
    {
        var (_, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        await using var device = await TestDevices.RegisterAsync(network, _storage, ConsentPolicies.Ask);

        var qr = await client.Authentication.GenerateQrCodeAsync();
        await device.AnswerQrAsync(qr.Payload, accept: true);

        var response = await client.Authentication.WaitForResponseAsync(qr.ConversationId).WaitAsync(Patience);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
        Assert.Equal(device.SelfId, response.SelfId);
    }

    [Fact]
    public async Task DeepLink_OpenedByADevice_Rejected()
    {
        var (_, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        await using var device = await TestDevices.RegisterAsync(network, _storage, ConsentPolicies.Ask);

        var link = await client.Authentication.GenerateDeepLinkAsync(new Uri("https://app.example/done"));
        await device.AnswerQrAsync(link.Link.AbsoluteUri, accept: false);

        var response = await client.Authentication.WaitForResponseAsync(link.ConversationId).WaitAsync(Patience);
        Assert.Equal(AuthenticationStatus.Rejected, response.Status);
        Assert.Equal(device.SelfId, response.SelfId);
    }

    [Fact]
    public async Task Invitation_AcceptedByADevice_RaisesUserConnectedAndRequestsThenReachTheUser()
    {
        var (_, client) = await TestIdentities.StartClientAsync(network, _storage, name: "Inviting App");
        await using var _ = client;
        await using var device = await TestDevices.RegisterAsync(network, _storage, ConsentPolicies.AlwaysAccept);
        var raised = new TaskCompletionSource<UserConnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Connections.UserConnected += (_, e) => raised.TrySetResult(e);
        await Assert.ThrowsAsync<NotConnectedException>(() => client.Authentication.RequestAsync(device.SelfId));

        var invitation = client.Connections.CreateInvitation("Connect to get sign-in requests");
        var seen = await device.AcceptInvitationAsync(invitation.QrCode.Payload);

        Assert.Equal("Inviting App", seen.AppName);
        var connected = await client.Connections.WaitForConnectionAsync(invitation.ConversationId).WaitAsync(Patience);
        Assert.Equal(device.SelfId, connected.SelfId);
        Assert.Equal(connected, await raised.Task.WaitAsync(Patience));
        var response = await client.Authentication.RequestAsync(device.SelfId).WaitAsync(Patience);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
    }

    private static async Task<T> ReadFirstAsync<T>(IAsyncEnumerable<T> stream)
    {
        await foreach (var item in stream)
        {
            return item;
        }

        throw new InvalidOperationException("the stream ended before an item arrived");
    }
}
