using Self.Device;
using Self.Network;
using Self.Sdk.Apps;

namespace Self.AspNetCore.Tests.Infrastructure;

/// <summary>One real network server (Kestrel on a free loopback port) shared by the tests; each test makes its own app and users.</summary>
public sealed class NetworkFixture : IAsyncLifetime
{
    private const string AdminToken = "aspnetcore-tests-admin-token-0123456789";
    private static readonly HttpClient Http = new();
    private SelfNetworkServer? _server;

    public TempDirectory Data { get; } = new("signin-network");

    public SelfNetworkServer Server => _server ?? throw new InvalidOperationException("The server is not started.");

    public async Task InitializeAsync()
    {
        _server = await SelfNetworkServer.StartAsync(new SelfNetworkOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = Data.Path,
            AdminToken = AdminToken,
            RateLimits = new RateLimitOptions { MessagesPerRecipient = 10_000, FramesPerConnection = 10_000, IdentitiesPerClient = 10_000 },
        });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Data.Dispose();
    }

    /// <summary>Registers a fresh app.</summary>
    public Task<CreatedApp> CreateAppAsync(string name = "Bookshop") =>
        SelfApps.CreateAsync(Server.BaseAddress, AdminToken, name, httpClient: Http);

    /// <summary>Registers a fresh user whose device runs in this process (the library, with its Requests stream).</summary>
    public Task<SelfDevice> RegisterDeviceAsync(TempDirectory storage) =>
        SelfDevice.RegisterAsync(new SelfDeviceOptions
        {
            ServerUrl = Server.BaseAddress,
            MessagingUrl = Server.MessagingUri,
            StorageDirectory = storage.Sub("device-" + Guid.NewGuid().ToString("N")),
            StorageKey = "device-storage-key",
            ConsentPolicy = ConsentPolicies.Ask,
            MaxRetries = 1,
        });
}

[CollectionDefinition(Name)]
public sealed class NetworkCollection : ICollectionFixture<NetworkFixture>
{
    public const string Name = "network";
}
