using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Self.Device;
using Self.Network;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Self.Oidc.Ciba;
using Self.Oidc.Clients;
using Self.Oidc.Storage;

namespace Self.Oidc.Tests.Infrastructure;

/// <summary>
/// A real Self network and a real provider on loopback (free ports), the provider on a fake clock so expiry and
/// back-off are driven by the tests, never waited for. Its Self app is created with the network's admin token, as
/// <c>self oidc serve</c> does on a first start.
/// </summary>
public sealed class OidcFixture : IAsyncLifetime
{
    public const string AdminToken = "oidc-tests-admin-token-0123456789";

    private SelfNetworkServer? _network;
    private SelfOidcServer? _provider;

    public TempDirectory Data { get; } = new("oidc");

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    public CapturingLoggerProvider Logs { get; } = new();

    public SelfNetworkServer Network => _network ?? throw new InvalidOperationException("not started");

    public SelfOidcServer Provider => _provider ?? throw new InvalidOperationException("not started");

    public Uri Issuer => Provider.BaseAddress;

    public HttpClient Http { get; } = new();

    public async Task InitializeAsync()
    {
        _network = await SelfNetworkServer.StartAsync(new SelfNetworkOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = Data.Sub("network"),
            AdminToken = AdminToken,
            RateLimits = new RateLimitOptions { MessagesPerRecipient = 10_000, FramesPerConnection = 10_000, IdentitiesPerClient = 10_000 },
        });
        _provider = await StartProviderAsync(Data.Sub("provider"));
    }

    /// <summary>Starts a provider on this fixture's network with its data in <paramref name="folder"/>.</summary>
    public Task<SelfOidcServer> StartProviderAsync(string folder, Action<SelfOidcOptionsBuilder>? configure = null)
    {
        var options = new SelfOidcOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = folder,
            NetworkUrl = Network.BaseAddress,
            MessagingUrl = Network.MessagingUri,
            AdminToken = AdminToken,
            AppName = "Test OpenID Provider",
            TimeProvider = Time,
            SelfClientTimeProvider = TimeProvider.System,
            PollingInterval = 1,
            PingFirstRetryDelay = TimeSpan.FromSeconds(1),
            LoggerFactory = LoggerFactory.Create(l => l.SetMinimumLevel(LogLevel.Information).AddProvider(Logs)),
        };
        var builder = new SelfOidcOptionsBuilder(options);
        configure?.Invoke(builder);
        return SelfOidcServer.StartAsync(builder.Options);
    }

    /// <summary>Registers a client of the fixture's provider.</summary>
    public async Task<OidcClientCreated> AddClientAsync(OidcClientRegistration registration)
    {
        await using var clients = await SelfOidcClients.OpenAsync(Provider.Options.DataDirectory);
        return await clients.AddAsync(registration);
    }

    public Task<OidcClientCreated> AddCibaClientAsync(string mode = "poll", Uri? notify = null, string? jwks = null) =>
        AddClientAsync(new OidcClientRegistration { Name = "CIBA test client", CibaMode = mode, NotificationEndpoint = notify, JsonWebKeySet = jwks });

    /// <summary>A new user whose device is connected to the provider's app and answers by <paramref name="policy"/>.</summary>
    public async Task<SelfDevice> ConnectedUserAsync(IConsentPolicy? policy = null)
    {
        var device = await RegisterUserAsync(policy);
        await device.ConnectAsync(Provider.AppId);
        return device;
    }

    /// <summary>A new user who has not connected to the provider's app.</summary>
    public Task<SelfDevice> RegisterUserAsync(IConsentPolicy? policy = null) =>
        SelfDevice.RegisterAsync(new SelfDeviceOptions
        {
            ServerUrl = Network.BaseAddress,
            MessagingUrl = Network.MessagingUri,
            StorageDirectory = Data.Sub("device-" + Guid.NewGuid().ToString("N")),
            StorageKey = "device-storage-key",
            ConsentPolicy = policy ?? ConsentPolicies.Ask,
            MaxRetries = 1,
        });

    /// <summary>Waits until the user's answer (or the request's end) has reached the provider's database.</summary>
    public async Task WaitAnsweredAsync(string authReqId, SelfOidcServer? provider = null)
    {
        var hash = CibaEndpoints.Hash(authReqId);
        var databases = (provider ?? Provider).Services.GetRequiredService<IDbContextFactory<OidcDbContext>>();
        await Waiting.UntilAsync(
            async () =>
            {
                await using var db = await databases.CreateDbContextAsync();
                var request = await db.CibaRequests.AsNoTracking().FirstAsync(r => r.AuthReqIdHash == hash);
                return request.Status != CibaStatus.Pending;
            },
            "the user's answer");
    }

    public async Task DisposeAsync()
    {
        if (_provider is not null)
        {
            await _provider.DisposeAsync();
        }

        if (_network is not null)
        {
            await _network.DisposeAsync();
        }

        Http.Dispose();
        Data.Dispose();
    }
}

/// <summary>Lets a test change the provider options before start.</summary>
public sealed class SelfOidcOptionsBuilder(SelfOidcOptions options)
{
    public SelfOidcOptions Options { get; set; } = options;
}

[CollectionDefinition(Name)]
public sealed class OidcCollection : ICollectionFixture<OidcFixture>
{
    public const string Name = "oidc";
}

/// <summary>Keeps every log line (message and structured values) so tests can check what the audit log says and never says.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(string Category, string Message)> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Lines.Enqueue((category, formatter(state, exception) + (exception is null ? "" : " " + exception)));
    }
}
