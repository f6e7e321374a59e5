using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Self.Oidc.Hosting;
using Self.Oidc.Storage;

namespace Self.Oidc.Keys;

/// <summary>Signing-key rotation on demand (besides the automatic one when the newest key is older than its lifetime).</summary>
public static class SelfOidcKeys
{
    /// <summary>
    /// Adds a new signing key; providers sign with it from their next start, and keep publishing the previous keys so
    /// tokens they signed still verify. Returns the new key's id.
    /// </summary>
    public static async Task<string> RotateAsync(string dataDirectory, string? postgresConnectionString = null, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        await using var services = new ServiceCollection().AddLogging().AddOidcStorage(dataDirectory, postgresConnectionString).BuildServiceProvider();
        await OidcServices.EnsureStorageAsync(services, dataDirectory, postgresConnectionString, cancellationToken).ConfigureAwait(false);
        await using var db = await services.GetRequiredService<IDbContextFactory<OidcDbContext>>().CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        return await KeyRing.RotateAsync(db, (timeProvider ?? TimeProvider.System).GetUtcNow(), cancellationToken).ConfigureAwait(false);
    }
}
