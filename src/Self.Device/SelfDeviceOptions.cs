using Microsoft.Extensions.Logging;
using Self.Protocol.Identifiers;

namespace Self.Device;

/// <summary>
/// Everything a <see cref="SelfDevice"/> needs, fixed for its lifetime. <see cref="Validate"/> runs when the device is
/// registered or opened and says what to fix.
/// </summary>
public sealed record SelfDeviceOptions
{
    /// <summary>The device id a new identity's first device gets when <see cref="DeviceId"/> is not set.</summary>
    public const string DefaultDeviceId = "1";

    /// <summary>The network's REST base URL, e.g. <c>http://127.0.0.1:8080</c>.</summary>
    public required Uri ServerUrl { get; init; }

    /// <summary>The messaging websocket URL; when null, derived from <see cref="ServerUrl"/> (<c>ws(s)://host/v2/messaging</c>).</summary>
    public Uri? MessagingUrl { get; init; }

    /// <summary>The folder where this device keeps its encrypted keys and its messaging store (one device per folder).</summary>
    public required string StorageDirectory { get; init; }

    /// <summary>The secret that encrypts everything the device keeps on disk; opening the device needs the same one.</summary>
    public required string StorageKey { get; init; }

    /// <summary>
    /// This device's id. When registering: the id of the first device (default <c>"1"</c>). When opening: null takes the
    /// id the store holds; a different id than the store's is refused.
    /// </summary>
    public string? DeviceId { get; init; }

    /// <summary>The clock for tokens, request expiry and history timestamps; tests pass a fake one.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Where logs go; none by default.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Decides incoming requests; <see cref="ConsentPolicies.Ask"/> (the default) hands each one to <see cref="SelfDevice.Requests"/>.</summary>
    public IConsentPolicy ConsentPolicy { get; init; } = ConsentPolicies.Ask;

    /// <summary>An HTTP client to use (not disposed by the device); a new one when null.</summary>
    public HttpClient? HttpClient { get; init; }

    /// <summary>How often a REST call or the connection is retried when the network cannot be reached.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>The platform name registered with the network for this device.</summary>
    public string Platform { get; init; } = "dotnet";

    /// <summary>
    /// When false, <see cref="SelfDevice.OpenAsync"/> opens only the REST side: the device can connect and disconnect
    /// apps, list connections and devices and change its key history, but neither receives nor answers requests, and
    /// it never takes over (supersedes) the messaging connection of another process running the same device, such as a
    /// listener. Default true. Registering always connects (it publishes the new device's one-time keys).
    /// </summary>
    public bool ConnectMessaging { get; init; } = true;

    // The storage key never shows in logs or debugger views through ToString.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("ServerUrl = ").Append(ServerUrl)
            .Append(", MessagingUrl = ").Append(MessagingUrl)
            .Append(", StorageDirectory = ").Append(StorageDirectory)
            .Append(", StorageKey = ***, DeviceId = ").Append(DeviceId)
            .Append(", ConsentPolicy = ").Append(ConsentPolicy)
            .Append(", MaxRetries = ").Append(MaxRetries);
        return true;
    }

    /// <summary>Checks every option and throws <see cref="ArgumentException"/> naming the first one to fix.</summary>
    public void Validate()
    {
        if (ServerUrl is null || !ServerUrl.IsAbsoluteUri || ServerUrl.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"ServerUrl '{ServerUrl}' must be an absolute http:// or https:// URL.", nameof(ServerUrl));
        }

        if (MessagingUrl is { } messaging && (!messaging.IsAbsoluteUri || messaging.Scheme is not ("ws" or "wss")))
        {
            throw new ArgumentException($"MessagingUrl '{messaging}' must be an absolute ws:// or wss:// URL.", nameof(MessagingUrl));
        }

        if (string.IsNullOrWhiteSpace(StorageDirectory))
        {
            throw new ArgumentException("StorageDirectory is empty: give a folder where the device may keep its encrypted keys.", nameof(StorageDirectory));
        }

        if (string.IsNullOrEmpty(StorageKey))
        {
            throw new ArgumentException("StorageKey is empty: choose a secret that encrypts the device's keys on disk.", nameof(StorageKey));
        }

        if (DeviceId is not null && !SelfIds.IsDeviceId(DeviceId))
        {
            throw new ArgumentException($"DeviceId '{DeviceId}' is not a device id (1-64 of A-Z a-z 0-9 _ . -).", nameof(DeviceId));
        }

        if (TimeProvider is null)
        {
            throw new ArgumentException("TimeProvider is null: leave it unset for the system clock.", nameof(TimeProvider));
        }

        if (ConsentPolicy is null)
        {
            throw new ArgumentException("ConsentPolicy is null: use ConsentPolicies.Ask to answer requests yourself.", nameof(ConsentPolicy));
        }

        if (MaxRetries < 0)
        {
            throw new ArgumentException("MaxRetries cannot be negative.", nameof(MaxRetries));
        }
    }

    /// <summary>The REST base URL, always ending with <c>/</c> so that relative paths resolve under it.</summary>
    public Uri ResolveServerUrl()
    {
        var builder = new UriBuilder(ServerUrl);
        if (!builder.Path.EndsWith('/'))
        {
            builder.Path += "/";
        }

        return builder.Uri;
    }

    /// <summary>The messaging websocket URL this device connects to.</summary>
    public Uri ResolveMessagingUrl()
    {
        if (MessagingUrl is { } messaging)
        {
            return messaging;
        }

        var builder = new UriBuilder(ServerUrl)
        {
            Scheme = ServerUrl.Scheme == "https" ? "wss" : "ws",
            Path = "/v2/messaging",
            Query = string.Empty,
        };
        return builder.Uri;
    }
}
