using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Self.Sdk;
using Self.Sdk.Apps;

namespace Self.AspNetCore.Tests.Infrastructure;

/// <summary>What a test changes in the sample site it hosts.</summary>
public sealed record SiteSettings
{
    /// <summary>The app's secret; a wrong one shows the start failure.</summary>
    public string? AppSecret { get; init; }

    /// <summary>The folder of the data-protection keys; two sites given the same folder act as instances of one app.</summary>
    public string? KeysDirectory { get; init; }

    /// <summary>The clock of the site (client, handler, cookies).</summary>
    public TimeProvider? Time { get; init; }

    /// <summary>Changes to the Self scheme's options.</summary>
    public Action<SelfAuthenticationOptions>? Configure { get; init; }

    /// <summary>The instance's app device id (<c>Self:DeviceId</c>); two instances running at once need two.</summary>
    public string? DeviceId { get; init; }

    /// <summary>A cache shared by instances (stands for Redis or SQL Server in a real deployment).</summary>
    public IDistributedCache? SharedCache { get; init; }
}

/// <summary>
/// The sample site (samples/SignIn, unchanged) hosted on Kestrel on a free loopback port, configured for the test's
/// network and app the way a deployment would be: configuration keys and services, no code of the sample replaced.
/// </summary>
public sealed class SignInSite : WebApplicationFactory<Program>
{
    private readonly NetworkFixture _network;
    private readonly CreatedApp _app;
    private readonly string _storage;
    private readonly SiteSettings _settings;

    private SignInSite(NetworkFixture network, CreatedApp app, string storage, SiteSettings settings)
    {
        _network = network;
        _app = app;
        _storage = storage;
        _settings = settings;
    }

    /// <summary>Every log line of the site.</summary>
    public ConcurrentQueue<(LogLevel Level, string Category, string Message)> Logs { get; } = new();

    /// <summary>The site's address, e.g. http://127.0.0.1:41234/.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The site's client.</summary>
    public SelfClient SelfClient => Services.GetRequiredService<SelfClient>();

    /// <summary>Starts the sample for <paramref name="app"/> and waits until its client is connected (or has failed).</summary>
    public static async Task<SignInSite> StartAsync(NetworkFixture network, CreatedApp app, TempDirectory storage, SiteSettings? settings = null)
    {
        var site = new SignInSite(network, app, storage.Sub("site-" + Guid.NewGuid().ToString("N")), settings ?? new SiteSettings());
        site.UseKestrel(0);
        site.StartServer();
        var addresses = site.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        site.BaseAddress = new Uri(addresses.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");
        await Task.CompletedTask;
        return site;
    }

    /// <summary>A browser-like HTTP client: its own cookie jar, redirects not followed, so tests see each step.</summary>
    public HttpClient CreateBrowser(CookieContainer? cookies = null) =>
        new(new HttpClientHandler { CookieContainer = cookies ?? new CookieContainer(), AllowAutoRedirect = false, UseCookies = true })
        {
            BaseAddress = BaseAddress,
        };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.ConfigureAppConfiguration(config => config.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Self:AppId"] = _app.AppId,
            ["Self:AppSecret"] = _settings.AppSecret ?? _app.Secret,
            ["Self:StorageKey"] = "site-storage-key",
            ["Self:StorageDirectory"] = _storage,
            ["Self:ApiUrl"] = _network.Server.BaseAddress.ToString(),
            ["Self:MessagingUrl"] = _network.Server.MessagingUri.ToString(),
            ["Self:MaxRetries"] = "1",
            ["Self:DeviceId"] = _settings.DeviceId ?? "1",
        }));
        builder.ConfigureLogging(logging => logging.AddProvider(new CollectingLoggerProvider(Logs)));
        builder.ConfigureTestServices(services =>
        {
            var keys = _settings.KeysDirectory ?? System.IO.Path.Combine(_storage, "keys");
            services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(keys)).SetApplicationName("signin-sample-tests");
            if (_settings.Time is { } time)
            {
                services.AddSingleton(time);
            }

            if (_settings.SharedCache is { } cache)
            {
                services.AddSingleton(cache);
            }

            if (_settings.Configure is { } configure)
            {
                services.Configure(SelfAuthenticationDefaults.AuthenticationScheme, configure);
            }
        });
    }

    private sealed class CollectingLoggerProvider(ConcurrentQueue<(LogLevel, string, string)> sink) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Collecting(sink, categoryName);

        public void Dispose()
        {
        }

        private sealed class Collecting(ConcurrentQueue<(LogLevel, string, string)> sink, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    sink.Enqueue((logLevel, category, formatter(state, exception)));
                }
            }
        }
    }
}
