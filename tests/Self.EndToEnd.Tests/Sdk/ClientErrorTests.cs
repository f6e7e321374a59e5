using System.Net;
using System.Net.Sockets;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Messaging;
using Self.Network;
using Self.Protocol;
using Self.Sdk;
using Self.Sdk.Authentication;

namespace Self.EndToEnd.Tests.Sdk;

/// <summary>The errors a developer sees from SelfClient, each against the real network.</summary>
[Collection(NetworkCollection.Name)]
public sealed class ClientErrorTests(NetworkFixture network) : IDisposable
{
    private readonly TempDirectory _storage = new("sdk-errors");

    public void Dispose() => _storage.Dispose();

    [Fact]
    public async Task RequestAsync_UserNotConnected_ThrowsNamingUserAndApp()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        var user = await TestIdentities.RegisterRawUserAsync(network);

        var error = await Assert.ThrowsAsync<NotConnectedException>(() => client.Authentication.RequestAsync(user.SelfId));

        Assert.Equal(user.SelfId, error.SelfId);
        Assert.Equal(app.AppId, error.AppId);
        Assert.Contains(user.SelfId, error.Message);
        Assert.Contains(app.AppId, error.Message);
        Assert.Contains("connect", error.Message);
        Assert.Equal("not_connected", error.ErrorCode);
    }

    [Fact]
    public async Task RequestAsync_NonBlockingUserNotConnected_CallbackGetsUnauthorizedOnce()
    {
        var (_, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        var user = await TestIdentities.RegisterRawUserAsync(network);
        var outcomes = new List<AuthenticationResponse>();
        var subscribed = new List<AuthenticationResponse>();
        using var subscription = client.Authentication.Subscribe(r => { lock (subscribed) { subscribed.Add(r); } });

        var cid = await client.Authentication.RequestAsync(user.SelfId, r => { lock (outcomes) { outcomes.Add(r); } });

        var outcome = Assert.Single(outcomes);
        Assert.Equal(AuthenticationStatus.Unauthorized, outcome.Status);
        Assert.Equal(cid, outcome.ConversationId);
        Assert.Equal(user.SelfId, outcome.SelfId);
        Assert.Equal(AuthenticationStatus.Unauthorized, Assert.Single(subscribed).Status);
    }

    [Fact]
    public async Task SendAsync_UserNotConnected_SubscriptionGetsUnauthorized()
    {
        var (_, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        var user = await TestIdentities.RegisterRawUserAsync(network);
        var received = new TaskCompletionSource<AuthenticationResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = client.Authentication.Subscribe(r => received.TrySetResult(r));

        var cid = await client.Authentication.SendAsync(user.SelfId);

        var outcome = await received.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(cid, outcome.ConversationId);
        Assert.Equal(AuthenticationStatus.Unauthorized, outcome.Status);
    }

    [Fact]
    public async Task RequestAsync_UnknownSelfId_ThrowsUnknownIdentity()
    {
        var (_, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        var unknown = TestIdentities.UnregisteredSelfId();

        var error = await Assert.ThrowsAsync<UnknownIdentityException>(() => client.Authentication.RequestAsync(unknown));

        Assert.Equal(unknown, error.SelfId);
        Assert.Contains(unknown, error.Message);
    }

    [Theory]
    [InlineData("123")]
    [InlineData("111222333444")]
    [InlineData("abc1234567")]
    public async Task RequestAsync_MalformedSelfId_ThrowsArgumentException(string selfId)
    {
        var (_, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;

        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.Authentication.RequestAsync(selfId));

        Assert.Contains("Self ID", error.Message);
    }

    [Fact]
    public async Task StartAsync_SecretOfAnotherApp_ThrowsInvalidSecretKey()
    {
        var app = await TestIdentities.CreateAppAsync(network);
        var other = await TestIdentities.CreateAppAsync(network);
        await using var client = new SelfClient(TestIdentities.ClientOptions(network, app, _storage) with { AppSecret = other.Secret });

        var error = await Assert.ThrowsAsync<InvalidSecretKeyException>(() => client.StartAsync());

        Assert.Equal(app.AppId, error.AppId);
        Assert.Contains("AppSecret", error.Message);
    }

    [Fact]
    public async Task StartAsync_MalformedOptions_ThrowsArgumentExceptionNamingTheOption()
    {
        var app = await TestIdentities.CreateAppAsync(network);
        var options = TestIdentities.ClientOptions(network, app, _storage);

        var badId = await Assert.ThrowsAsync<ArgumentException>(() => new SelfClient(options with { AppId = "NOT-AN-APP" }).StartAsync());
        var badSecret = await Assert.ThrowsAsync<ArgumentException>(() => new SelfClient(options with { AppSecret = "1:too-short" }).StartAsync());
        var noStorageKey = await Assert.ThrowsAsync<ArgumentException>(() => new SelfClient(options with { StorageKey = "" }).StartAsync());

        Assert.Equal("AppId", badId.ParamName);
        Assert.Equal("AppSecret", badSecret.ParamName);
        Assert.Equal("StorageKey", noStorageKey.ParamName);
    }

    [Fact]
    public async Task StartAsync_NothingListening_ThrowsServerUnreachable()
    {
        var app = await TestIdentities.CreateAppAsync(network);
        var port = FreePort();
        var options = TestIdentities.ClientOptions(network, app, _storage) with
        {
            ApiUrl = new Uri($"http://127.0.0.1:{port}/"),
            MessagingUrl = new Uri($"ws://127.0.0.1:{port}/v2/messaging"),
            MaxRetries = 0,
        };
        await using var client = new SelfClient(options);

        var error = await Assert.ThrowsAsync<ServerUnreachableException>(() => client.StartAsync());

        Assert.Contains("127.0.0.1", error.Message);
    }

    [Fact]
    public async Task RequestAsync_ExpiryBeyond24Hours_Refused()
    {
        var (_, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        var user = await TestIdentities.RegisterRawUserAsync(network);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            client.Authentication.RequestAsync(user.SelfId, new AuthenticationRequestOptions { Expiry = TimeSpan.FromHours(25) }));
    }

    [Fact]
    public async Task RequestAsync_OverTheServersRateLimit_ThrowsRateLimitedWithRetryTime()
    {
        // Its own server with the default policy: 10 messages per app per user per minute.
        using var data = new TempDirectory("rate-limited-network");
        await using var server = await SelfNetworkServer.StartAsync(new SelfNetworkOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = data.Path,
            AdminToken = NetworkFixture.AdminToken,
        });
        var app = await Self.Sdk.Apps.SelfApps.CreateAsync(server.BaseAddress, NetworkFixture.AdminToken, "Rate limited");
        await using var client = new SelfClient(new SelfClientOptions
        {
            AppId = app.AppId,
            AppSecret = app.Secret,
            StorageKey = "k",
            StorageDirectory = _storage.Sub("strict"),
            ApiUrl = server.BaseAddress,
            MessagingUrl = server.MessagingUri,
        });
        await client.StartAsync();
        var user = await TestIdentities.RegisterRawUserAsync(server.BaseAddress);
        await TestIdentities.ConnectAsync(user, app.AppId);

        for (var i = 0; i < 10; i++)
        {
            await client.Authentication.SendAsync(user.SelfId);
        }

        var error = await Assert.ThrowsAsync<RateLimitedException>(() => client.Authentication.RequestAsync(user.SelfId));

        Assert.InRange(error.RetryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
