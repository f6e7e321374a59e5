using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Self.Network.Hosting;
using Self.Network.Tests.Infrastructure;
using Self.Network.Tests.Relay;

namespace Self.Network.Tests.Hosting;

public sealed class HostingTests
{
    [Fact]
    public async Task AddSelfNetwork_InsideAnotherWebApplication_ServesRestAndMessaging()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSelfNetwork(o => o with { DataDirectory = TempDirectory.Create(), AdminToken = "operator-token-for-hosting-test" });
        await using var app = builder.Build();
        app.MapGet("/host", () => "the host's own endpoint");
        app.MapSelfNetwork();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };

        Assert.Equal("the host's own endpoint", await http.GetStringAsync("/host"));
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/healthz")).Status);
        var user = await TestIdentity.RegisterUserAsync(http);
        var selfApp = await TestIdentity.CreateAppAsync(http, "operator-token-for-hosting-test");
        var socket = await TestSocket.LoginAsync(new Uri(address.Replace("http://", "ws://", StringComparison.Ordinal) + "/v2/messaging"), user);
        Assert.Equal(WebSocketState.Open, socket.State);
        Assert.Matches("^[0-9a-f]{32}$", selfApp.Id);
        await socket.DisposeAsync();
        await app.StopAsync();
    }

    [Fact]
    public async Task StartAsync_NoAdminToken_GeneratesOneInAFileOnlyTheOwnerCanRead()
    {
        var directory = TempDirectory.Create();

        await using var server = await NetworkFixture.StartAsync(directory, TimeProvider.System);

        Assert.True(server.AdminTokenGenerated);
        var path = Path.Combine(directory, AdminTokenProvider.FileName);
        Assert.Equal(Path.GetFullPath(path), server.AdminTokenPath);
        Assert.Equal(server.AdminToken, File.ReadAllText(path).Trim());
        Assert.True(server.AdminToken.Length >= 32);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public async Task StartAsync_ConfiguredAdminToken_IsUsedAndNoFileIsWritten()
    {
        var directory = TempDirectory.Create();

        await using var server = await NetworkFixture.StartAsync(directory, TimeProvider.System, configure: o => o with { AdminToken = "configured-admin-token-1234" });

        Assert.False(server.AdminTokenGenerated);
        Assert.Equal("configured-admin-token-1234", server.AdminToken);
        Assert.False(File.Exists(Path.Combine(directory, AdminTokenProvider.FileName)));
    }

    [Fact]
    public async Task StartAsync_PortZero_ReportsTheRealPortAndMessagingUri()
    {
        await using var server = await NetworkFixture.StartAsync(TempDirectory.Create(), TimeProvider.System);

        Assert.Equal("127.0.0.1", server.BaseAddress.Host);
        Assert.NotEqual(0, server.BaseAddress.Port);
        Assert.Equal("/", server.BaseAddress.AbsolutePath);
        Assert.Equal(new Uri($"ws://127.0.0.1:{server.BaseAddress.Port}/v2/messaging"), server.MessagingUri);
    }

    [Fact]
    public async Task ClientClosingWith3999_IsLoggedAsOnPurposeWithoutWarnings()
    {
        var logs = new RecordingLoggerFactory();
        var options = new SelfNetworkOptions { Urls = "http://127.0.0.1:0", DataDirectory = TempDirectory.Create() };
        await using var server = await SelfNetworkServer.StartAsync(options, logs);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var user = await TestIdentity.RegisterUserAsync(http);
        var socket = await TestSocket.LoginAsync(server.MessagingUri, user);

        await socket.CloseAsync((WebSocketCloseStatus)3999, "bye");
        await socket.DisposeAsync();

        await logs.WaitForAsync((id, message) => id.Id == 1203 && message.Contains("closed on purpose (3999)", StringComparison.Ordinal)).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.DoesNotContain(logs.Entries, static e => e.Level >= LogLevel.Warning && e.Event.Id != 1001);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(server.AdminToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task StopAsync_WithAConnectedClient_ClosesItWith1001()
    {
        var server = await NetworkFixture.StartAsync(TempDirectory.Create(), TimeProvider.System);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var user = await TestIdentity.RegisterUserAsync(http);
        await using var socket = await TestSocket.LoginAsync(server.MessagingUri, user);

        var stopping = server.DisposeAsync().AsTask();

        var (status, description) = await socket.ReceiveCloseAsync();
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, status);
        Assert.Equal("server shutting down", description);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "ok");
        await stopping.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Theory]
    [InlineData("", "Urls")]
    [InlineData("ftp://x", "Urls")]
    public void Validate_BadUrls_SaysWhatToFix(string urls, string named)
    {
        var error = Assert.Throws<ArgumentException>(() => new SelfNetworkOptions { Urls = urls }.Validate());

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_OtherBadSettings_EachSaysWhatToFix()
    {
        Assert.Contains("DataDirectory", Assert.Throws<ArgumentException>(() => new SelfNetworkOptions { DataDirectory = " " }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("AdminToken", Assert.Throws<ArgumentException>(() => new SelfNetworkOptions { AdminToken = "short" }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("PingInterval", Assert.Throws<ArgumentException>(() => new SelfNetworkOptions { PingInterval = TimeSpan.FromMinutes(1) }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("InboxRetention", Assert.Throws<ArgumentException>(() => new SelfNetworkOptions { InboxRetention = TimeSpan.Zero }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("MaxFrameBytes", Assert.Throws<ArgumentException>(() => new SelfNetworkOptions { MaxFrameBytes = 10 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("MessagesPerRecipient", Assert.Throws<ArgumentException>(() => new SelfNetworkOptions { RateLimits = new RateLimitOptions { MessagesPerRecipient = -1 } }.Validate()).Message, StringComparison.Ordinal);
        new SelfNetworkOptions().Validate();
    }
}

public sealed class BackendReplacementTests
{
    [Fact]
    public async Task AddSelfNetwork_NotifierRegisteredFirst_IsUsedByTheRelay()
    {
        var notifier = new RecordingNotifier();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton<Self.Network.Storage.IInboxNotifier>(notifier);
        builder.Services.AddSelfNetwork(o => o with { DataDirectory = TempDirectory.Create(), AdminToken = "operator-token-for-backend-test" });
        await using var app = builder.Build();
        app.MapSelfNetwork();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        var messaging = new Uri(address.Replace("http://", "ws://", StringComparison.Ordinal) + "/v2/messaging");
        var sender = await TestIdentity.CreateAppAsync(http, "operator-token-for-backend-test");
        var recipient = await TestIdentity.CreateAppAsync(http, "operator-token-for-backend-test");
        var recipientSocket = await TestSocket.LoginAsync(messaging, recipient);
        var senderSocket = await TestSocket.LoginAsync(messaging, sender);

        await senderSocket.SendAsync(RelayTestData.Message(sender, recipient, text: "via the custom notifier"));

        Assert.Equal("via the custom notifier", RelayTestData.Text(await recipientSocket.ReceiveMessageAsync()));
        Assert.Contains(recipient.Address, notifier.Published);
        await senderSocket.DisposeAsync();
        await recipientSocket.DisposeAsync();
        await app.StopAsync();
    }

    [Fact]
    public async Task StartAsync_ConfigureServices_RunsAfterTheDefaultsSoItsRegistrationsWin()
    {
        var claims = new RecordingClaims();
        var options = new SelfNetworkOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = TempDirectory.Create(),
            ConfigureServices = services => services.AddSingleton<Self.Network.Storage.IAddressClaims>(claims),
        };
        await using var server = await SelfNetworkServer.StartAsync(options);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var user = await TestIdentity.RegisterUserAsync(http);

        await using (var first = await TestSocket.LoginAsync(server.MessagingUri, user))
        {
            await using var second = await TestSocket.LoginAsync(server.MessagingUri, user);

            // The relay superseded through the configured claims, not a default of its own.
            Assert.Equal([user.Address, user.Address], claims.Claimed);
            Assert.Equal(WebSocketCloseStatus.InternalServerError, (await first.ReceiveCloseAsync()).Status);
        }
    }

    [Fact]
    public async Task StartAsync_Defaults_DescribeTheSqliteFileAsRegistryAndInboxes()
    {
        var directory = TempDirectory.Create();

        await using var server = await NetworkFixture.StartAsync(directory, TimeProvider.System);

        var database = Path.GetFullPath(Path.Combine(directory, SelfNetworkServiceCollectionExtensions.DatabaseFileName));
        Assert.Equal("SQLite " + database, server.RegistryBackend);
        Assert.Equal("SQLite " + database, server.InboxBackend);
    }

    private sealed class RecordingClaims : Self.Network.Storage.IAddressClaims
    {
        private readonly Self.Network.Storage.LocalAddressClaims _inner = new();
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _claimed = new();

        public IReadOnlyCollection<string> Claimed => _claimed;

        public IDisposable Claim(string address, Action onSuperseded)
        {
            _claimed.Enqueue(address);
            return _inner.Claim(address, onSuperseded);
        }
    }

    private sealed class RecordingNotifier : Self.Network.Storage.IInboxNotifier
    {
        private readonly Self.Network.Storage.InMemoryInboxNotifier _inner = new();

        public System.Collections.Concurrent.ConcurrentBag<string> Published { get; } = [];

        public IDisposable Subscribe(string address, Action<long> onAppended) => _inner.Subscribe(address, onAppended);

        public void Publish(string address, long offset)
        {
            Published.Add(address);
            _inner.Publish(address, offset);
        }
    }
}
