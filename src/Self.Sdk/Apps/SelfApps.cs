using Self.Messaging;
using Self.Protocol.Identifiers;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;

namespace Self.Sdk.Apps;

/// <summary>A newly registered app: what its operator must keep. The secrets are shown once and never again.</summary>
/// <param name="AppId">The app's id, 32 lowercase hex characters.</param>
/// <param name="Name">The name users see.</param>
/// <param name="Secret">The app's device key, <c>kid:seed</c>: what <see cref="SelfClientOptions.AppSecret"/> takes.</param>
/// <param name="RecoverySecret">The app's recovery key, <c>kid:seed</c>: keep it offline; it can replace a lost device key.</param>
public sealed record CreatedApp(string AppId, string Name, string Secret, string RecoverySecret)
{
    /// <inheritdoc />
    public override string ToString() => $"CreatedApp(id={AppId}, name={Name})";
}

/// <summary>Registers apps on a network. Only the network's operator, holding its admin token, may.</summary>
public static class SelfApps
{
    /// <summary>
    /// Creates an app: a device key (kid <c>1</c>, as gen-1 app secrets are <c>1:seed</c>) and a recovery key, the root
    /// history operation signed by the device key, and <c>POST /v1/apps</c> with the admin token.
    /// </summary>
    /// <param name="apiUrl">The network's REST base URL.</param>
    /// <param name="adminToken">The operator's admin token.</param>
    /// <param name="name">The app's name, shown to users.</param>
    /// <param name="timeProvider">The clock for the history timestamp.</param>
    /// <param name="httpClient">The HTTP client to use; a new one when null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public static async Task<CreatedApp> CreateAsync(
        Uri apiUrl,
        string adminToken,
        string name,
        TimeProvider? timeProvider = null,
        HttpClient? httpClient = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(apiUrl);
        ArgumentException.ThrowIfNullOrWhiteSpace(adminToken);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var time = timeProvider ?? TimeProvider.System;

        var deviceKey = SigningKey.Generate(SigningKey.DefaultKid);
        var recoveryKey = SigningKey.Generate();
        var root = HistoryOperations.CreateIdentity(deviceKey, SelfIds.DefaultAppDevice, recoveryKey, time.GetUtcNow());

        var ownsClient = httpClient is null;
        var http = httpClient ?? new HttpClient();
        try
        {
            var rest = new SelfRestClient(http, new SelfRestClientOptions { BaseAddress = apiUrl, TimeProvider = time });
            var appId = await rest.CreateAppAsync(adminToken, name.Trim(), root, cancellationToken).ConfigureAwait(false);
            return new CreatedApp(appId, name.Trim(), deviceKey.ToSecret(), recoveryKey.ToSecret());
        }
        finally
        {
            if (ownsClient)
            {
                http.Dispose();
            }
        }
    }
}
