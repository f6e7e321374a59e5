using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Self.Network.Authentication;
using Self.Network.Diagnostics;
using Self.Network.Hosting;
using Self.Network.Http;
using Self.Network.Policy;
using Self.Network.Registry;
using Self.Network.Relay;
using Self.Network.Storage;
using Self.Network.Storage.Sqlite;

namespace Self.Network;

/// <summary>Hosts the Self network inside any ASP.NET Core application.</summary>
public static class SelfNetworkServiceCollectionExtensions
{
    /// <summary>The file name of the SQLite database inside <see cref="SelfNetworkOptions.DataDirectory"/>.</summary>
    public const string DatabaseFileName = "self-network.db";

    /// <summary>
    /// Registers the network's services with <paramref name="options"/> (validated now). Storage defaults to SQLite in
    /// <see cref="SelfNetworkOptions.DataDirectory"/>; register your own <see cref="IIdentityStore"/>,
    /// <see cref="IInboxStore"/>, <see cref="IInboxNotifier"/>, <see cref="IAddressClaims"/>… first (or in
    /// <see cref="SelfNetworkOptions.ConfigureServices"/>, which runs last) to replace a backend.
    /// Then call <see cref="MapSelfNetwork"/>.
    /// </summary>
    public static IServiceCollection AddSelfNetwork(this IServiceCollection services, SelfNetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        services.AddLogging();
        services.AddRouting();
        services.AddMetrics();
        NetworkHealth.AddChecks(services.AddHealthChecks());
        services.TryAddSingleton(options);
        services.TryAddSingleton(_ => new SqliteDatabase(Path.Combine(options.DataDirectory, DatabaseFileName)));
        services.TryAddSingleton<IIdentityStore, SqliteIdentityStore>();
        services.TryAddSingleton<IDeviceStore, SqliteDeviceStore>();
        services.TryAddSingleton<IOneTimeKeyStore, SqliteOneTimeKeyStore>();
        services.TryAddSingleton<IConnectionStore, SqliteConnectionStore>();
        services.TryAddSingleton<IInboxStore, SqliteInboxStore>();
        services.TryAddSingleton<ITokenReplayStore, SqliteTokenReplayStore>();
        services.TryAddSingleton<IInboxNotifier, InMemoryInboxNotifier>();
        services.TryAddSingleton<IAddressClaims, LocalAddressClaims>();
        services.TryAddSingleton<AdminTokenProvider>();
        services.TryAddSingleton<NetworkMetrics>();
        services.TryAddSingleton<RateLimits>();
        services.TryAddSingleton<IdentityRegistry>();
        services.TryAddSingleton<TokenAuthenticator>();
        services.TryAddSingleton<RestApi>();
        services.TryAddSingleton<RelayHub>();
        services.TryAddSingleton<RelayContext>();
        services.TryAddSingleton<RetentionService>();
        services.AddHostedService<NetworkStartup>();
        services.AddHostedService(static sp => sp.GetRequiredService<RetentionService>());

        // Last, so that the backends it registers replace the defaults above.
        options.ConfigureServices?.Invoke(services);
        return services;
    }

    /// <summary>
    /// Registers the network's services, starting from the default options: <c>o =&gt; o with { DataDirectory = … }</c>.
    /// </summary>
    public static IServiceCollection AddSelfNetwork(this IServiceCollection services, Func<SelfNetworkOptions, SelfNetworkOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddSelfNetwork(configure(new SelfNetworkOptions()));
    }

    /// <summary>
    /// Maps the REST API (spec §5), <c>/healthz</c> and <c>/readyz</c> (<see cref="NetworkHealth"/>) and the
    /// <c>/v2/messaging</c> websocket. <c>/metrics</c> is the host's: the instruments are on the
    /// <see cref="NetworkMetrics.MeterName"/> meter (the <c>self</c> command exports them with OpenTelemetry). When
    /// <paramref name="endpoints"/> is also the application builder (a <c>WebApplication</c>), the WebSockets
    /// middleware is added as well; other hosts call <c>UseWebSockets()</c> themselves.
    /// </summary>
    public static IEndpointRouteBuilder MapSelfNetwork(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints is IApplicationBuilder app)
        {
            app.UseWebSockets();
        }

        RestApi.Map(endpoints);
        RelayEndpoint.Map(endpoints);
        NetworkHealth.Map(endpoints);
        return endpoints;
    }
}
