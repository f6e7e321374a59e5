using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Self.Network.Nats;
using Self.Network.PostgreSql;
using Self.Network.Tests;

namespace Self.Network.Distributed.Tests.Infrastructure;

/// <summary>
/// One server instance of a scale-out deployment, hosted the way an operator would: <c>AddSelfNetwork</c> with the
/// PostgreSQL registry and the NATS inboxes, Kestrel on a free 127.0.0.1 port, a data folder of its own.
/// </summary>
public sealed class NetworkInstance : IAsyncDisposable
{
    private readonly WebApplication _app;

    private readonly string _dataDirectory;

    private NetworkInstance(WebApplication app, Uri baseAddress, string dataDirectory)
    {
        _app = app;
        _dataDirectory = dataDirectory;
        BaseAddress = baseAddress;
        MessagingUri = new UriBuilder(baseAddress) { Scheme = "ws", Path = "/v2/messaging" }.Uri;
        Http = new HttpClient { BaseAddress = baseAddress };
    }

    public Uri BaseAddress { get; }

    public Uri MessagingUri { get; }

    public HttpClient Http { get; }

    public IServiceProvider Services => _app.Services;

    /// <param name="registry">The shared registry.</param>
    /// <param name="inboxes">The shared inboxes.</param>
    /// <param name="adminToken">The operator's token; the same on every instance.</param>
    /// <param name="backendsFirst">Register the backends before <c>AddSelfNetwork</c> (true) or after it (false); both must work.</param>
    /// <param name="configure">Changes to the server's options (inbox caps…).</param>
    public static async Task<NetworkInstance> StartAsync(
        SelfPostgreSqlOptions registry, SelfNatsOptions inboxes, string adminToken, bool backendsFirst = false, Func<SelfNetworkOptions, SelfNetworkOptions>? configure = null)
    {
        var dataDirectory = TempDirectory.Create();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        if (backendsFirst)
        {
            AddBackends(builder.Services, registry, inboxes);
        }

        builder.Services.AddSelfNetwork(o =>
        {
            var options = o with
            {
                DataDirectory = dataDirectory,
                AdminToken = adminToken,
                RateLimits = new RateLimitOptions { IdentitiesPerClient = 100_000, MessagesPerRecipient = 100_000 },
            };
            return configure?.Invoke(options) ?? options;
        });
        if (!backendsFirst)
        {
            AddBackends(builder.Services, registry, inboxes);
        }

        var app = builder.Build();
        app.MapSelfNetwork();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            Directory.Delete(dataDirectory, recursive: true);
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new NetworkInstance(app, new Uri(address), dataDirectory);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    private static void AddBackends(IServiceCollection services, SelfPostgreSqlOptions registry, SelfNatsOptions inboxes)
    {
        services.AddSelfNetworkPostgreSql(registry);
        services.AddSelfNetworkNats(inboxes);
    }
}
