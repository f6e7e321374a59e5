using Microsoft.Extensions.DependencyInjection;

namespace Self.Network;

/// <summary>How a Self network server listens, where it keeps its data, and the limits it enforces.</summary>
public sealed record SelfNetworkOptions
{
    /// <summary>The largest frame the messaging websocket accepts, 1 MiB (spec §6).</summary>
    public const int DefaultMaxFrameBytes = 1024 * 1024;

    /// <summary>
    /// Where Kestrel listens when the server is started by <c>SelfNetworkServer</c>; several URLs are
    /// separated by <c>;</c>. Port 0 asks for a free port (the real one is in <c>SelfNetworkServer.BaseAddress</c>).
    /// Ignored when the network is hosted in another application with <c>AddSelfNetwork</c>.
    /// </summary>
    public string Urls { get; init; } = "http://127.0.0.1:8080";

    /// <summary>Folder for the database and the generated admin token; created when missing.</summary>
    public string DataDirectory { get; init; } = "./.self-network";

    /// <summary>
    /// The operator's token for <c>POST /v1/apps</c>. When null, one is generated on the first start, kept in
    /// <c>&lt;DataDirectory&gt;/admin-token</c> (mode 0600) and reused afterwards.
    /// </summary>
    public string? AdminToken { get; init; }

    /// <summary>The clock for tokens, permits, rate limits, message timestamps and retention.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Rate limits (spec §10).</summary>
    public RateLimitOptions RateLimits { get; init; } = new();

    /// <summary>How long an undelivered message stays in an inbox (30 days).</summary>
    public TimeSpan InboxRetention { get; init; } = TimeSpan.FromDays(30);

    /// <summary>How often the retention loop looks for expired messages.</summary>
    public TimeSpan RetentionSweepInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How often the server pings an idle websocket (the spec asks for at least every 30 s).</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the server waits for the client's first frame (Auth) before it closes the socket.</summary>
    public TimeSpan AuthTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Frames larger than this are refused with ERR and the socket is closed with 1009.</summary>
    public int MaxFrameBytes { get; init; } = DefaultMaxFrameBytes;

    /// <summary>The largest REST request body; larger ones get 413.</summary>
    public int MaxRequestBytes { get; init; } = DefaultMaxFrameBytes;

    /// <summary>Clock skew allowed on auth token <c>iat</c>/<c>exp</c> (spec §4: 60 s).</summary>
    public TimeSpan TokenClockSkew { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>One-time keys accepted in one <c>POST …/pre_keys</c> call.</summary>
    public int MaxOneTimeKeysPerUpload { get; init; } = 1000;

    /// <summary>One-time keys a device may hold on the server.</summary>
    public int MaxOneTimeKeysHeld { get; init; } = 10_000;

    /// <summary>
    /// Messages one inbox (one <c>selfid:device</c>) may hold undelivered (10 000). A message to a full inbox is
    /// refused with ERR <c>inbox full</c>; the inbox drains as its device reads. 0 turns the cap off.
    /// </summary>
    public int MaxInboxMessages { get; init; } = 10_000;

    /// <summary>Bytes of frames one inbox may hold undelivered (256 MiB); over it, as for <see cref="MaxInboxMessages"/>. 0 turns the cap off.</summary>
    public long MaxInboxBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>
    /// Adds or replaces services after the defaults are registered, e.g. other storage backends:
    /// <c>ConfigureServices = s =&gt; s.AddSelfNetworkPostgreSql(…).AddSelfNetworkNats(…)</c>. This is how a server started
    /// by <c>SelfNetworkServer.StartAsync</c> (and <c>self network serve</c>) runs on PostgreSQL and NATS; see
    /// docs/scale-out.md.
    /// </summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }

    /// <summary>Checks every setting and throws <see cref="ArgumentException"/> naming the first one to fix.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Urls))
        {
            throw new ArgumentException("SelfNetworkOptions.Urls is empty: give at least one URL such as http://127.0.0.1:8080.", nameof(Urls));
        }

        foreach (var url in Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new ArgumentException($"SelfNetworkOptions.Urls: '{url}' is not an http:// or https:// URL.", nameof(Urls));
            }
        }

        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new ArgumentException("SelfNetworkOptions.DataDirectory is empty: give a folder for the database.", nameof(DataDirectory));
        }

        if (AdminToken is not null && AdminToken.Trim().Length < 16)
        {
            throw new ArgumentException("SelfNetworkOptions.AdminToken must be at least 16 characters (or null to generate one).", nameof(AdminToken));
        }

        if (AdminToken is not null && AdminToken.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException("SelfNetworkOptions.AdminToken must not contain whitespace.", nameof(AdminToken));
        }

        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        ArgumentNullException.ThrowIfNull(RateLimits, nameof(RateLimits));
        RateLimits.Validate();

        RequirePositive(InboxRetention, nameof(InboxRetention));
        RequirePositive(RetentionSweepInterval, nameof(RetentionSweepInterval));
        RequirePositive(PingInterval, nameof(PingInterval));
        RequirePositive(AuthTimeout, nameof(AuthTimeout));
        if (TokenClockSkew < TimeSpan.Zero)
        {
            throw new ArgumentException("SelfNetworkOptions.TokenClockSkew must not be negative.", nameof(TokenClockSkew));
        }

        if (RetentionSweepInterval > TimeSpan.FromDays(30))
        {
            throw new ArgumentException("SelfNetworkOptions.RetentionSweepInterval must be at most 30 days.", nameof(RetentionSweepInterval));
        }

        if (PingInterval > TimeSpan.FromSeconds(30))
        {
            throw new ArgumentException("SelfNetworkOptions.PingInterval must be at most 30 s: gen-1 Go clients drop a connection that is silent for 90 s.", nameof(PingInterval));
        }

        if (MaxFrameBytes < 1024)
        {
            throw new ArgumentException("SelfNetworkOptions.MaxFrameBytes must be at least 1024.", nameof(MaxFrameBytes));
        }

        if (MaxRequestBytes < 1024)
        {
            throw new ArgumentException("SelfNetworkOptions.MaxRequestBytes must be at least 1024.", nameof(MaxRequestBytes));
        }

        if (MaxInboxMessages < 0)
        {
            throw new ArgumentException("SelfNetworkOptions.MaxInboxMessages must not be negative (0 turns the cap off).", nameof(MaxInboxMessages));
        }

        if (MaxInboxBytes < 0 || (MaxInboxBytes > 0 && MaxInboxBytes < MaxFrameBytes))
        {
            throw new ArgumentException("SelfNetworkOptions.MaxInboxBytes must be 0 (off) or at least MaxFrameBytes, so that one largest frame fits.", nameof(MaxInboxBytes));
        }

        if (MaxOneTimeKeysPerUpload < 1 || MaxOneTimeKeysHeld < MaxOneTimeKeysPerUpload)
        {
            throw new ArgumentException("SelfNetworkOptions.MaxOneTimeKeysPerUpload must be at least 1 and no more than MaxOneTimeKeysHeld.", nameof(MaxOneTimeKeysPerUpload));
        }
    }

    private static void RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentException($"SelfNetworkOptions.{name} must be greater than zero.", name);
        }
    }
}

/// <summary>The server's rate limits (spec §10). Each is a count per window; a count of 0 turns that limit off.</summary>
public sealed record RateLimitOptions
{
    /// <summary>Messages one sender identity may send to one recipient identity per <see cref="MessageWindow"/> (10).
    /// Copies of one message to several devices of the recipient (same frame id) count once.</summary>
    public int MessagesPerRecipient { get; init; } = 10;

    /// <summary>The window of <see cref="MessagesPerRecipient"/> (1 minute).</summary>
    public TimeSpan MessageWindow { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Identities one client IP address may register per <see cref="IdentityWindow"/> (10).</summary>
    public int IdentitiesPerClient { get; init; } = 10;

    /// <summary>The window of <see cref="IdentitiesPerClient"/> (1 minute).</summary>
    public TimeSpan IdentityWindow { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Frames one websocket connection may send per <see cref="FrameWindow"/> (100).</summary>
    public int FramesPerConnection { get; init; } = 100;

    /// <summary>The window of <see cref="FramesPerConnection"/> (1 second).</summary>
    public TimeSpan FrameWindow { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Messages one identity may send to its own devices per <see cref="SelfMessageWindow"/> (60): device-to-device
    /// sync, which the per-recipient limit does not cover. Copies of one message to several own devices count once.
    /// </summary>
    public int SelfMessagesPerIdentity { get; init; } = 60;

    /// <summary>The window of <see cref="SelfMessagesPerIdentity"/> (1 minute).</summary>
    public TimeSpan SelfMessageWindow { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Checks every limit and throws <see cref="ArgumentException"/> naming the first one to fix.</summary>
    public void Validate()
    {
        Check(MessagesPerRecipient, MessageWindow, nameof(MessagesPerRecipient), nameof(MessageWindow));
        Check(IdentitiesPerClient, IdentityWindow, nameof(IdentitiesPerClient), nameof(IdentityWindow));
        Check(FramesPerConnection, FrameWindow, nameof(FramesPerConnection), nameof(FrameWindow));
        Check(SelfMessagesPerIdentity, SelfMessageWindow, nameof(SelfMessagesPerIdentity), nameof(SelfMessageWindow));
    }

    private static void Check(int count, TimeSpan window, string countName, string windowName)
    {
        if (count < 0)
        {
            throw new ArgumentException($"RateLimitOptions.{countName} must not be negative (0 turns the limit off).", countName);
        }

        if (window <= TimeSpan.Zero)
        {
            throw new ArgumentException($"RateLimitOptions.{windowName} must be greater than zero.", windowName);
        }
    }
}
