using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Self.Network.Storage;

namespace Self.Network.PostgreSql;

/// <summary>Puts the network's registry (identities, histories, devices, one-time keys, connections) and the auth-token replay memory on PostgreSQL.</summary>
public static class PostgreSqlServiceCollectionExtensions
{
    /// <summary>
    /// Registers the PostgreSQL registry stores in place of the default ones. Call it before or after
    /// <c>AddSelfNetwork</c>: either way these stores win. The schema is created or upgraded when the server starts.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="connectionString">An Npgsql connection string; every instance of one network uses the same database.</param>
    /// <param name="schema">The schema of the registry's tables.</param>
    public static IServiceCollection AddSelfNetworkPostgreSql(
        this IServiceCollection services,
        string connectionString,
        string schema = SelfPostgreSqlOptions.DefaultSchema) =>
        services.AddSelfNetworkPostgreSql(new SelfPostgreSqlOptions { ConnectionString = connectionString, Schema = schema });

    /// <summary>Registers the PostgreSQL registry stores with <paramref name="options"/> (validated now).</summary>
    public static IServiceCollection AddSelfNetworkPostgreSql(this IServiceCollection services, SelfPostgreSqlOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        services.AddLogging();
        services.RemoveAll<PostgreSqlDatabase>();
        services.AddSingleton(sp => new PostgreSqlDatabase(options, sp.GetService<ILoggerFactory>()));
        Replace<IIdentityStore, PostgreSqlIdentityStore>(services);
        Replace<IDeviceStore, PostgreSqlDeviceStore>(services);
        Replace<IOneTimeKeyStore, PostgreSqlOneTimeKeyStore>(services);
        Replace<IConnectionStore, PostgreSqlConnectionStore>(services);
        Replace<ITokenReplayStore, PostgreSqlTokenReplayStore>(services);
        return services;
    }

    private static void Replace<TService, TImplementation>(IServiceCollection services)
        where TService : class
        where TImplementation : class, TService
    {
        services.RemoveAll<TService>();
        services.AddSingleton<TService, TImplementation>();
    }
}
