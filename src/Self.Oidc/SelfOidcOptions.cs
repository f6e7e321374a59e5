using Microsoft.Extensions.Logging;

namespace Self.Oidc;

/// <summary>
/// How <see cref="SelfOidcServer"/> runs: where it listens and keeps its data, which Self network it asks users on,
/// and the limits of its CIBA flows.
/// </summary>
public sealed record SelfOidcOptions
{
    /// <summary>Kestrel URLs, <c>;</c>-separated. Port 0 picks a free port.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:5100";

    /// <summary>The folder for the SQLite database, the provider's Self app identity and its encrypted Self store.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>An Npgsql connection string: clients, grants, CIBA requests and keys live in PostgreSQL instead of SQLite.</summary>
    public string? PostgresConnectionString { get; init; }

    /// <summary>The issuer (<c>iss</c>) published in discovery; by default the first listening address.</summary>
    public Uri? Issuer { get; init; }

    /// <summary>The Self network's REST base URL.</summary>
    public required Uri NetworkUrl { get; init; }

    /// <summary>The network's messaging websocket; derived from <see cref="NetworkUrl"/> when null.</summary>
    public Uri? MessagingUrl { get; init; }

    /// <summary>
    /// The provider's own Self app. Null: read from <c>self-app.json</c> in <see cref="DataDirectory"/>, or, on the
    /// first start, created with <see cref="AdminToken"/> and saved there (0600).
    /// </summary>
    public SelfOidcApp? App { get; init; }

    /// <summary>
    /// The device id this instance's Self client connects as (docs/app-devices.md). "1" (the default) for a single
    /// instance; several instances of one provider (one app, one PostgreSQL) need one distinct id each.
    /// </summary>
    public string AppDeviceId { get; init; } = "1";

    /// <summary>The network's admin token, used once to create the provider's app when none is given or saved.</summary>
    public string? AdminToken { get; init; }

    /// <summary>The name users see for the provider's app when it is created.</summary>
    public string AppName { get; init; } = "Self OpenID Provider";

    /// <summary>The lifetime of a CIBA request when the client gives no <c>requested_expiry</c>.</summary>
    public TimeSpan DefaultRequestExpiry { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The longest <c>requested_expiry</c> honoured (longer ones are shortened to this).</summary>
    public TimeSpan MaxRequestExpiry { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The minimum polling interval returned with <c>auth_req_id</c> (seconds, CIBA §7.3).</summary>
    public int PollingInterval { get; init; } = 5;

    /// <summary>Backchannel requests allowed per client per minute.</summary>
    public int RequestsPerClientPerMinute { get; init; } = 60;

    /// <summary>Backchannel requests allowed per user (login hint) per minute, as Auth0 does.</summary>
    public int RequestsPerUserPerMinute { get; init; } = 5;

    /// <summary>How many times a ping notification is tried before it is given up.</summary>
    public int PingAttempts { get; init; } = 5;

    /// <summary>The wait before the second ping attempt; doubled for each further one.</summary>
    public TimeSpan PingFirstRetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a signing key signs before a new one replaces it at start (the old one stays published).</summary>
    public TimeSpan SigningKeyLifetime { get; init; } = TimeSpan.FromDays(90);

    /// <summary>Lifetime of access and ID tokens.</summary>
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// When true, private_key_jwt assertions must be typed <c>client-authentication+jwt</c> (draft-ietf-oauth-rfc7523bis,
    /// OpenIddict 7's own rule). False (the default) also takes assertions typed <c>JWT</c> or with no <c>typ</c>, as
    /// openid-client 6 and most other clients send them; any other type is refused either way.
    /// </summary>
    public bool StrictClientAssertionTypes { get; init; }

    /// <summary>Serve plain http on non-loopback addresses (tests and development only).</summary>
    public bool AllowInsecureHttp { get; init; } = true;

    /// <summary>The clock.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// The clock of the provider's Self client (its network auth tokens and Self request lifetimes); the provider's own
    /// clock when null. Tests keep it real while they drive the provider's clock, since the network allows only 60 s skew.
    /// </summary>
    internal TimeProvider? SelfClientTimeProvider { get; init; }

    /// <summary>Logging, including the audit log (category <c>Self.Oidc.Audit</c>).</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Checks the options and says what to fix.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new ArgumentException("DataDirectory is empty: give a folder where the provider keeps its data.", nameof(DataDirectory));
        }

        if (!NetworkUrl.IsAbsoluteUri || NetworkUrl.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"NetworkUrl '{NetworkUrl}' must be an absolute http:// or https:// URL.", nameof(NetworkUrl));
        }

        if (Issuer is { } issuer && (!issuer.IsAbsoluteUri || issuer.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(issuer.Query)))
        {
            throw new ArgumentException($"Issuer '{issuer}' must be an absolute http(s) URL without a query.", nameof(Issuer));
        }

        if (DefaultRequestExpiry <= TimeSpan.Zero || MaxRequestExpiry < DefaultRequestExpiry || MaxRequestExpiry > TimeSpan.FromHours(24))
        {
            throw new ArgumentException("DefaultRequestExpiry must be positive and at most MaxRequestExpiry, itself at most 24 hours.", nameof(MaxRequestExpiry));
        }

        if (!Self.Protocol.Identifiers.SelfIds.IsDeviceId(AppDeviceId))
        {
            throw new ArgumentException($"AppDeviceId '{AppDeviceId}' is not a device id (1–64 of A–Z a–z 0–9 _ . -).", nameof(AppDeviceId));
        }

        if (PollingInterval < 1)
        {
            throw new ArgumentException("PollingInterval must be at least 1 second.", nameof(PollingInterval));
        }

        if (RequestsPerClientPerMinute < 1 || RequestsPerUserPerMinute < 1)
        {
            throw new ArgumentException("Rate limits must allow at least one request a minute.", nameof(RequestsPerUserPerMinute));
        }

        if (PingAttempts < 1 || PingFirstRetryDelay < TimeSpan.Zero)
        {
            throw new ArgumentException("PingAttempts must be at least 1 and PingFirstRetryDelay not negative.", nameof(PingAttempts));
        }

        if (SigningKeyLifetime <= TimeSpan.Zero || TokenLifetime <= TimeSpan.Zero)
        {
            throw new ArgumentException("SigningKeyLifetime and TokenLifetime must be positive.", nameof(SigningKeyLifetime));
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"SelfOidcOptions(urls={Urls}, data={DataDirectory}, storage={(PostgresConnectionString is null ? "sqlite" : "postgresql")}, network={NetworkUrl}, app={App?.AppId ?? "(saved or created)"}, device={AppDeviceId})";
}

/// <summary>The provider's Self app: its id and secret key (<c>kid:seed</c>), and the key of its local encrypted store.</summary>
public sealed record SelfOidcApp(string AppId, string AppSecret, string StorageKey)
{
    /// <inheritdoc />
    public override string ToString() => $"SelfOidcApp({AppId})";
}
