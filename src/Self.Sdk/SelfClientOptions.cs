using Microsoft.Extensions.Logging;
using Self.Protocol.Identifiers;
using Self.Protocol.Keys;

namespace Self.Sdk;

/// <summary>
/// Everything a <see cref="SelfClient"/> needs, fixed for its lifetime. <see cref="Validate"/> runs at start and
/// says what to fix.
/// </summary>
public sealed record SelfClientOptions
{
    /// <summary>The app's id: 32 lowercase hex characters, as printed when the app was created.</summary>
    public required string AppId { get; init; }

    /// <summary>The app's secret key, <c>kid:seed</c>, as printed once when the app was created.</summary>
    public required string AppSecret { get; init; }

    /// <summary>The key that encrypts everything the client keeps on disk (Olm account, sessions, open requests).</summary>
    public required string StorageKey { get; init; }

    /// <summary>Where the client keeps its encrypted store; created when missing.</summary>
    public required string StorageDirectory { get; init; }

    /// <summary>
    /// The network's REST base URL, e.g. <c>http://127.0.0.1:8080</c>. When null, it comes from
    /// <see cref="Environment"/>.
    /// </summary>
    public Uri? ApiUrl { get; init; }

    /// <summary>The messaging websocket URL; when null, derived from <see cref="ApiUrl"/> (<c>ws(s)://host/v2/messaging</c>).</summary>
    public Uri? MessagingUrl { get; init; }

    /// <summary>
    /// A named network used when <see cref="ApiUrl"/> is not given: <c>local</c> (default, <c>http://127.0.0.1:8080</c>),
    /// or a gen-1 name such as <c>sandbox</c> or <c>production</c>.
    /// </summary>
    public string Environment { get; init; } = "local";

    /// <summary>This app device's id; apps use <c>"1"</c>.</summary>
    public string DeviceId { get; init; } = "1";

    /// <summary>Where logs go; none by default.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The clock for tokens, expiry and back-off; tests pass a fake one.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>How long a request stays open when the call does not say.</summary>
    public TimeSpan DefaultExpiry { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The base of deep links; gen-1 used <c>https://links.joinself.com</c>.</summary>
    public Uri LinksBaseUrl { get; init; } = new("https://links.joinself.com");

    /// <summary>How often a REST call or connection is retried when the server cannot be reached.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>
    /// Whether <see cref="Authentication.AuthenticationService.StartAsync"/> asks for number matching (spec §9a) when the
    /// request's options do not say; off by default, since devices that do not know it cannot be accepted.
    /// </summary>
    public bool NumberMatching { get; init; }

    /// <summary>Checks every option and throws <see cref="ArgumentException"/> naming the first one to fix.</summary>
    public void Validate()
    {
        if (!SelfIds.IsAppId(AppId))
        {
            throw new ArgumentException(
                $"AppId '{AppId}' is not an app id: expected 32 lowercase hex characters, as printed by 'self app create'.",
                nameof(AppId));
        }

        if (string.IsNullOrWhiteSpace(AppSecret))
        {
            throw new ArgumentException("AppSecret is empty: pass the 'kid:seed' secret printed when the app was created.", nameof(AppSecret));
        }

        try
        {
            _ = SigningKey.ParseSecret(AppSecret);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or Protocol.SelfException)
        {
            throw new ArgumentException(
                $"AppSecret is not a valid secret key ('kid:seed' with a 32-byte base64 seed): {ex.Message}", nameof(AppSecret), ex);
        }

        if (string.IsNullOrEmpty(StorageKey))
        {
            throw new ArgumentException("StorageKey is empty: choose a secret that encrypts the client's local store.", nameof(StorageKey));
        }

        if (string.IsNullOrWhiteSpace(StorageDirectory))
        {
            throw new ArgumentException("StorageDirectory is empty: give a folder where the client may keep its encrypted store.", nameof(StorageDirectory));
        }

        if (!SelfIds.IsDeviceId(DeviceId))
        {
            throw new ArgumentException($"DeviceId '{DeviceId}' is not a device id (1–64 of A–Z a–z 0–9 _ . -).", nameof(DeviceId));
        }

        if (DefaultExpiry <= TimeSpan.Zero)
        {
            throw new ArgumentException("DefaultExpiry must be positive.", nameof(DefaultExpiry));
        }

        if (MaxRetries < 0)
        {
            throw new ArgumentException("MaxRetries cannot be negative.", nameof(MaxRetries));
        }

        _ = ResolveApiUrl();
        if (MessagingUrl is { } m && m.Scheme is not ("ws" or "wss"))
        {
            throw new ArgumentException($"MessagingUrl '{m}' must be a ws:// or wss:// URL.", nameof(MessagingUrl));
        }
    }

    /// <summary>The REST base URL this client talks to.</summary>
    public Uri ResolveApiUrl()
    {
        if (ApiUrl is { } api)
        {
            if (!api.IsAbsoluteUri || api.Scheme is not ("http" or "https"))
            {
                throw new ArgumentException($"ApiUrl '{api}' must be an absolute http:// or https:// URL.", nameof(ApiUrl));
            }

            return api;
        }

        return Environment switch
        {
            "local" => new Uri("http://127.0.0.1:8080/"),
            "production" or "" => new Uri("https://api.joinself.com/"),
            "sandbox" or "staging" or "review" or "development" => new Uri($"https://api.{Environment}.joinself.com/"),
            _ => throw new ArgumentException(
                $"Environment '{Environment}' is unknown: use local, sandbox, staging, production, or set ApiUrl.", nameof(Environment)),
        };
    }

    /// <summary>The messaging websocket URL this client connects to.</summary>
    public Uri ResolveMessagingUrl()
    {
        if (MessagingUrl is { } m)
        {
            return m;
        }

        var api = ResolveApiUrl();
        var builder = new UriBuilder(api)
        {
            Scheme = api.Scheme == "https" ? "wss" : "ws",
            Path = "/v2/messaging",
        };
        if (Environment is not "local" && ApiUrl is null)
        {
            builder.Host = api.Host.Replace("api.", "messaging.", StringComparison.Ordinal);
        }

        return builder.Uri;
    }
}
