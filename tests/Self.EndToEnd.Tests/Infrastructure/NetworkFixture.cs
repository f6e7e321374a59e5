using Self.Network;

namespace Self.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One real network server per test class collection: Kestrel on a free loopback port with its data in a temp
/// folder. Tests make their own fresh apps and users on it, so they can run in parallel.
/// </summary>
public sealed class NetworkFixture : IAsyncLifetime
{
    private SelfNetworkServer? _server;

    /// <summary>The operator token that may create apps.</summary>
    public const string AdminToken = "end-to-end-admin-token-0123456789";

    /// <summary>The folder holding the server's data (and nothing else).</summary>
    public TempDirectory Data { get; } = new("network");

    /// <summary>The running server.</summary>
    public SelfNetworkServer Server => _server ?? throw new InvalidOperationException("The server is not started.");

    /// <summary>REST base address, e.g. http://127.0.0.1:41234/.</summary>
    public Uri ApiUrl => Server.BaseAddress;

    /// <summary>The messaging websocket address.</summary>
    public Uri MessagingUrl => Server.MessagingUri;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _server = await SelfNetworkServer.StartAsync(new SelfNetworkOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = Data.Path,
            AdminToken = AdminToken,
            // Tests send many requests between one app and one user; the per-pair limit is tested on its own.
            RateLimits = new RateLimitOptions { MessagesPerRecipient = 10_000, FramesPerConnection = 10_000, IdentitiesPerClient = 10_000 },
        });
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Data.Dispose();
    }
}

/// <summary>The collection every end-to-end test class joins, so they share one server.</summary>
[CollectionDefinition(Name)]
public sealed class NetworkCollection : ICollectionFixture<NetworkFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "network";
}
