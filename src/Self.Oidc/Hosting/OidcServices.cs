using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Self.Oidc.Storage;

namespace Self.Oidc.Hosting;

/// <summary>The database and OpenIddict's core (stores, managers), shared by the server and the client commands.</summary>
internal static class OidcServices
{
    public static IServiceCollection AddOidcStorage(this IServiceCollection services, SelfOidcOptions options) =>
        services.AddOidcStorage(options.DataDirectory, options.PostgresConnectionString);

    public static IServiceCollection AddOidcStorage(this IServiceCollection services, string dataDirectory, string? postgresConnectionString)
    {
        services.AddDbContextFactory<OidcDbContext>(db =>
        {
            if (postgresConnectionString is { } postgres)
            {
                db.UseNpgsql(postgres);
            }
            else
            {
                db.UseSqlite("Data Source=" + Path.Combine(dataDirectory, "oidc.db"));
            }

            db.UseOpenIddict();
        });
        services.AddOpenIddict().AddCore(core => core.UseEntityFrameworkCore().UseDbContext<OidcDbContext>());
        return services;
    }

    /// <summary>Makes the folder (0700) and the schema when missing.</summary>
    public static Task EnsureStorageAsync(IServiceProvider services, SelfOidcOptions options, CancellationToken cancellationToken) =>
        EnsureStorageAsync(services, options.DataDirectory, options.PostgresConnectionString, cancellationToken);

    public static async Task EnsureStorageAsync(IServiceProvider services, string dataDirectory, string? postgresConnectionString, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(dataDirectory))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(dataDirectory);
            }
            else
            {
                Directory.CreateDirectory(dataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        var factory = services.GetRequiredService<IDbContextFactory<OidcDbContext>>();
        await using var db = await factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var creator = db.GetService<IRelationalDatabaseCreator>();
        if (!await creator.ExistsAsync(cancellationToken).ConfigureAwait(false))
        {
            await creator.CreateAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            _ = await db.Keys.AnyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException)
        {
            // The database may be shared (the network's PostgreSQL): create only this provider's tables.
            await creator.CreateTablesAsync(cancellationToken).ConfigureAwait(false);
        }
        var file = Path.Combine(dataDirectory, "oidc.db");
        if (postgresConnectionString is null && File.Exists(file) && !OperatingSystem.IsWindows())
        {
            // The database holds the signing keys and hashed client secrets.
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
