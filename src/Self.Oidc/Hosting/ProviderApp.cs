using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Self.Oidc.Storage;
using Self.Sdk.Apps;

namespace Self.Oidc.Hosting;

/// <summary>
/// Where the provider's own Self app identity comes from: given in the options, else saved — in the PostgreSQL database
/// when the provider runs on one (so that every instance on it is the same app), else in <c>self-app.json</c> in the
/// data folder (file mode 0600) — else created on the first start with the network's admin token and saved there.
/// </summary>
internal static class ProviderApp
{
    public const string FileName = "self-app.json";

    public static async Task<SelfOidcApp> ResolveAsync(SelfOidcOptions options, IDbContextFactory<OidcDbContext> databases, CancellationToken cancellationToken)
    {
        if (options.App is { } given)
        {
            return given;
        }

        var path = Path.Combine(options.DataDirectory, FileName);
        var shared = options.PostgresConnectionString is not null;
        if (shared && await ReadSharedAsync(databases, cancellationToken).ConfigureAwait(false) is { } stored)
        {
            return stored;
        }

        if (File.Exists(path))
        {
            var saved = JsonSerializer.Deserialize(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false), ProviderAppJson.Default.SavedApp)
                ?? throw new InvalidOperationException($"{path} is empty or not an app file.");
            var fromFile = new SelfOidcApp(saved.AppId, saved.AppSecret, saved.StorageKey);
            // An instance that ran on its own before joining a PostgreSQL brings its app to the others.
            return shared ? await SaveSharedAsync(databases, fromFile, saved.RecoverySecret, options.TimeProvider, cancellationToken).ConfigureAwait(false) : fromFile;
        }

        if (string.IsNullOrWhiteSpace(options.AdminToken))
        {
            throw new InvalidOperationException(
                $"The provider has no Self app: give its id and secret (--app-id, SELF_OIDC_APP_SECRET), or the network's admin token " +
                $"(SELF_ADMIN_TOKEN) on the first start so it creates one and saves it in {path}.");
        }

        var created = await SelfApps.CreateAsync(
            options.NetworkUrl, options.AdminToken, options.AppName, options.SelfClientTimeProvider ?? options.TimeProvider, cancellationToken: cancellationToken).ConfigureAwait(false);
        var app = new SelfOidcApp(created.AppId, created.Secret, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        if (shared)
        {
            return await SaveSharedAsync(databases, app, created.RecoverySecret, options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }

        var json = JsonSerializer.Serialize(new SavedApp(app.AppId, app.AppSecret, app.StorageKey, created.RecoverySecret), ProviderAppJson.Default.SavedApp);
        var file = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            file.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using (var stream = new FileStream(path, file))
        await using (var writer = new StreamWriter(stream))
        {
            await writer.WriteAsync(json.AsMemory(), cancellationToken).ConfigureAwait(false);
        }

        return app;
    }

    private static async Task<SelfOidcApp?> ReadSharedAsync(IDbContextFactory<OidcDbContext> databases, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var row = await db.ProviderApps.AsNoTracking().FirstOrDefaultAsync(a => a.Key == ProviderAppEntity.TheKey, cancellationToken).ConfigureAwait(false);
        return row is null ? null : new SelfOidcApp(row.AppId, row.AppSecret, row.StorageKey);
    }

    /// <summary>
    /// Saves the app for every instance. Two first starts racing each created an app: the first saved wins, and the
    /// loser uses it (its own app stays unused on the network).
    /// </summary>
    private static async Task<SelfOidcApp> SaveSharedAsync(
        IDbContextFactory<OidcDbContext> databases, SelfOidcApp app, string? recoverySecret, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            db.ProviderApps.Add(new ProviderAppEntity
            {
                Key = ProviderAppEntity.TheKey,
                AppId = app.AppId,
                AppSecret = app.AppSecret,
                StorageKey = app.StorageKey,
                RecoverySecret = recoverySecret,
                CreatedAt = time.GetUtcNow(),
            });
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            return app;
        }
        catch (DbUpdateException)
        {
            return await ReadSharedAsync(databases, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException("The provider's app could not be saved in the database, and none is there.");
        }
    }
}

internal sealed record SavedApp(
    [property: JsonPropertyName("app_id")] string AppId,
    [property: JsonPropertyName("app_secret")] string AppSecret,
    [property: JsonPropertyName("storage_key")] string StorageKey,
    [property: JsonPropertyName("recovery_secret")] string? RecoverySecret);

[JsonSerializable(typeof(SavedApp))]
internal sealed partial class ProviderAppJson : JsonSerializerContext;
