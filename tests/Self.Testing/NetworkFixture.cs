using Self.Network;
using Xunit;

namespace Self.Testing;

/// <summary>How a <see cref="NetworkFixture"/> starts its server.</summary>
public sealed record NetworkFixtureOptions
{
    /// <summary>
    /// The server's limits. By default the per-recipient, per-client and per-connection limits are raised far above
    /// what the tests of one run send from 127.0.0.1, so tests never trip over each other; the limits have tests of
    /// their own, on servers of their own (<see cref="NetworkFixture.StartAsync"/>).
    /// </summary>
    public RateLimitOptions RateLimits { get; init; } = new()
    {
        MessagesPerRecipient = 100_000,
        IdentitiesPerClient = 100_000,
        FramesPerConnection = 100_000,
    };

    /// <summary>The server's clock (the real one unless a test drives a fake).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>A last change to the server's options (a storage backend, a telemetry hook…).</summary>
    public Func<SelfNetworkOptions, SelfNetworkOptions>? Configure { get; init; }
}

/// <summary>
/// One real network server for a collection or class of tests: Kestrel on a free loopback port, its data in a temp
/// folder that is deleted afterwards, and the operator token <see cref="AdminToken"/>. Tests make their own fresh apps
/// and users on it (see <see cref="NetworkFixtureExtensions"/>), so they can run side by side. Derive from it (with a
/// parameterless constructor, as xUnit needs) to start the server with other <see cref="NetworkFixtureOptions"/> or to
/// add helpers of one test project.
/// </summary>
public class NetworkFixture : IAsyncLifetime
{
    /// <summary>The operator token that may create apps.</summary>
    public const string AdminToken = "self-testing-admin-token-0123456789";

    private readonly NetworkFixtureOptions _options;
    private SelfNetworkServer? _server;

    /// <summary>A fixture with the default <see cref="NetworkFixtureOptions"/>.</summary>
    public NetworkFixture()
        : this(new NetworkFixtureOptions())
    {
    }

    /// <summary>A fixture whose server starts with <paramref name="options"/>.</summary>
    protected NetworkFixture(NetworkFixtureOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>The folder holding the server's data (and nothing else).</summary>
    public TempDirectory Data { get; } = new("network");

    /// <summary>The running server.</summary>
    public SelfNetworkServer Server => _server ?? throw new InvalidOperationException("The server is not started.");

    /// <summary>REST base address, e.g. http://127.0.0.1:41234/.</summary>
    public Uri ApiUrl => Server.BaseAddress;

    /// <summary>The messaging websocket address.</summary>
    public Uri MessagingUrl => Server.MessagingUri;

    /// <summary>The server's clock.</summary>
    public TimeProvider Time => _options.TimeProvider;

    /// <summary>An HTTP client whose base address is the server's (it stays valid across <see cref="RestartAsync"/>).</summary>
    public HttpClient Http { get; } = new() { Timeout = Polling.Patience };

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _server = await StartServerAsync("http://127.0.0.1:0").ConfigureAwait(false);
        Http.BaseAddress = _server.BaseAddress;
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }

        Data.Dispose();
    }

    /// <summary>
    /// Stops the server and starts it again on the same port and data folder (for reconnect and durability tests);
    /// <paramref name="whileDown"/> runs while nothing listens.
    /// </summary>
    public async Task RestartAsync(Func<Task>? whileDown = null)
    {
        var port = Server.BaseAddress.Port;
        await Server.DisposeAsync().ConfigureAwait(false);
        _server = null;
        if (whileDown is not null)
        {
            await whileDown().ConfigureAwait(false);
        }

        _server = await StartServerAsync($"http://127.0.0.1:{port}").ConfigureAwait(false);
    }

    /// <summary>
    /// Starts a server of its own, on a free loopback port, for a test that needs its own clock, limits or options:
    /// production limits unless <paramref name="limits"/> says otherwise, and a generated admin token unless
    /// <paramref name="configure"/> sets one (the server's <see cref="SelfNetworkServer.AdminToken"/>). The caller
    /// disposes it.
    /// </summary>
    public static Task<SelfNetworkServer> StartAsync(
        string dataDirectory, TimeProvider time, RateLimitOptions? limits = null, Func<SelfNetworkOptions, SelfNetworkOptions>? configure = null)
    {
        var options = new SelfNetworkOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = dataDirectory,
            TimeProvider = time,
            RateLimits = limits ?? new RateLimitOptions(),
        };
        return SelfNetworkServer.StartAsync(configure?.Invoke(options) ?? options);
    }

    private Task<SelfNetworkServer> StartServerAsync(string urls)
    {
        var options = new SelfNetworkOptions
        {
            Urls = urls,
            DataDirectory = Data.Path,
            AdminToken = AdminToken,
            TimeProvider = _options.TimeProvider,
            RateLimits = _options.RateLimits,
        };
        return SelfNetworkServer.StartAsync(_options.Configure?.Invoke(options) ?? options);
    }
}
