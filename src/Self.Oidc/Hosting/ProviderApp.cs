using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Self.Sdk.Apps;

namespace Self.Oidc.Hosting;

/// <summary>
/// Where the provider's own Self app identity comes from: given in the options, else <c>self-app.json</c> in the data
/// folder, else created on the first start with the network's admin token and saved there (file mode 0600).
/// </summary>
internal static class ProviderApp
{
    public const string FileName = "self-app.json";

    public static async Task<SelfOidcApp> ResolveAsync(SelfOidcOptions options, CancellationToken cancellationToken)
    {
        if (options.App is { } given)
        {
            return given;
        }

        var path = Path.Combine(options.DataDirectory, FileName);
        if (File.Exists(path))
        {
            var saved = JsonSerializer.Deserialize(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false), ProviderAppJson.Default.SavedApp)
                ?? throw new InvalidOperationException($"{path} is empty or not an app file.");
            return new SelfOidcApp(saved.AppId, saved.AppSecret, saved.StorageKey);
        }

        if (string.IsNullOrWhiteSpace(options.AdminToken))
        {
            throw new InvalidOperationException(
                $"The provider has no Self app: give its id and secret (--app-id, SELF_OIDC_APP_SECRET), or the network's admin token " +
                $"(SELF_ADMIN_TOKEN) on the first start so it creates one and saves it in {path}.");
        }

        var created = await SelfApps.CreateAsync(options.NetworkUrl, options.AdminToken, options.AppName, options.TimeProvider, cancellationToken: cancellationToken).ConfigureAwait(false);
        var app = new SelfOidcApp(created.AppId, created.Secret, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
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
}

internal sealed record SavedApp(
    [property: JsonPropertyName("app_id")] string AppId,
    [property: JsonPropertyName("app_secret")] string AppSecret,
    [property: JsonPropertyName("storage_key")] string StorageKey,
    [property: JsonPropertyName("recovery_secret")] string? RecoverySecret);

[JsonSerializable(typeof(SavedApp))]
internal sealed partial class ProviderAppJson : JsonSerializerContext;
