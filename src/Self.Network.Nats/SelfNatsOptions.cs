using System.Text.RegularExpressions;
using NATS.Client.Core;

namespace Self.Network.Nats;

/// <summary>Where the inboxes live in NATS JetStream and how instances tell each other about new messages.</summary>
public sealed partial record SelfNatsOptions
{
    /// <summary>The NATS server(s), e.g. <c>nats://nats-1:4222,nats://nats-2:4222</c>.</summary>
    public required string Url { get; init; }

    /// <summary>The JetStream stream that holds every inbox (created or updated at start).</summary>
    public string StreamName { get; init; } = "SELF_INBOX";

    /// <summary>The stream's subjects are <c>&lt;prefix&gt;.&lt;self id&gt;.&lt;device id&gt;</c>.</summary>
    public string InboxSubjectPrefix { get; init; } = "inbox";

    /// <summary>Core NATS subjects <c>&lt;prefix&gt;.&lt;self id&gt;.&lt;device id&gt;</c> announce new messages to every instance.</summary>
    public string NotifySubjectPrefix { get; init; } = "self.notify";

    /// <summary>
    /// Core NATS subjects <c>&lt;prefix&gt;.&lt;self id&gt;.&lt;device id&gt;</c> on which an instance announces that a new connection
    /// claimed an address, so that the other instances close their older connection for it (spec §6 superseding).
    /// </summary>
    public string ClaimSubjectPrefix { get; init; } = "self.claims";

    /// <summary>How many JetStream servers keep a copy of each message (1, or 3 for a cluster that survives a lost server).</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>
    /// How long an append, a read or a removal keeps trying again while JetStream does not answer — a server of the
    /// stream died and the others are electing a new leader, which takes seconds. The sender's ACK (or the delivery)
    /// waits meanwhile; past this the relay answers ERR (or closes the connection, which the client resumes). Zero
    /// tries once.
    /// </summary>
    public TimeSpan PublishRetryTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The stream's MaxAge, enforced by JetStream itself on its own clock. Null uses
    /// <see cref="SelfNetworkOptions.InboxRetention"/> (30 days).
    /// </summary>
    public TimeSpan? MaxAge { get; init; }

    /// <summary>
    /// How far the clocks of the server instances may disagree. A retention sweep stops scanning the stream at the
    /// first message stamped this much later than its cut-off: everything stored after it is newer than the cut-off.
    /// </summary>
    public TimeSpan ClockSkewTolerance { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The name this instance's connection shows in the NATS server's monitoring.</summary>
    public string ConnectionName { get; init; } = "self-network";

    /// <summary>
    /// Adjusts the connection's options (credentials, TLS, reconnect policy…). Echo is always turned off: an instance
    /// tells its own connections about a new message directly.
    /// </summary>
    public Func<NatsOpts, NatsOpts>? ConfigureConnection { get; init; }

    /// <summary>The server URL(s) without the credentials a URL may carry (<c>nats://user:password@host</c>), for an operator to read.</summary>
    public string DisplayUrl => string.Join(
        ',',
        (Url ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(WithoutCredentials));

    /// <summary>Checks the settings and throws <see cref="ArgumentException"/> naming the first one to fix.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Url))
        {
            throw new ArgumentException("SelfNatsOptions.Url is required, e.g. nats://127.0.0.1:4222.", nameof(Url));
        }

        if (!StreamNamePattern().IsMatch(StreamName ?? string.Empty))
        {
            throw new ArgumentException("SelfNatsOptions.StreamName must be 1–64 characters of A-Z, a-z, 0-9, _ and -.", nameof(StreamName));
        }

        RequireSubjectPrefix(InboxSubjectPrefix, nameof(InboxSubjectPrefix));
        RequireSubjectPrefix(NotifySubjectPrefix, nameof(NotifySubjectPrefix));
        if (Overlaps(InboxSubjectPrefix, NotifySubjectPrefix))
        {
            throw new ArgumentException(
                "SelfNatsOptions.NotifySubjectPrefix must not overlap InboxSubjectPrefix: notifications would be stored in the stream.",
                nameof(NotifySubjectPrefix));
        }

        RequireSubjectPrefix(ClaimSubjectPrefix, nameof(ClaimSubjectPrefix));
        if (Overlaps(ClaimSubjectPrefix, InboxSubjectPrefix) || Overlaps(ClaimSubjectPrefix, NotifySubjectPrefix))
        {
            throw new ArgumentException(
                "SelfNatsOptions.ClaimSubjectPrefix must not overlap InboxSubjectPrefix or NotifySubjectPrefix.",
                nameof(ClaimSubjectPrefix));
        }

        if (Replicas is < 1 or > 5)
        {
            throw new ArgumentException("SelfNatsOptions.Replicas must be between 1 and 5.", nameof(Replicas));
        }

        if (MaxAge is { } maxAge && maxAge < TimeSpan.FromMinutes(1))
        {
            throw new ArgumentException("SelfNatsOptions.MaxAge must be at least one minute.", nameof(MaxAge));
        }

        if (PublishRetryTimeout < TimeSpan.Zero || PublishRetryTimeout > TimeSpan.FromMinutes(2))
        {
            throw new ArgumentException("SelfNatsOptions.PublishRetryTimeout must be between zero and two minutes (the stream's duplicate window).", nameof(PublishRetryTimeout));
        }

        if (ClockSkewTolerance < TimeSpan.Zero)
        {
            throw new ArgumentException("SelfNatsOptions.ClockSkewTolerance must not be negative.", nameof(ClockSkewTolerance));
        }
    }

    private static void RequireSubjectPrefix(string? prefix, string name)
    {
        if (!SubjectPrefixPattern().IsMatch(prefix ?? string.Empty))
        {
            throw new ArgumentException($"SelfNatsOptions.{name} must be dot-separated tokens of A-Z, a-z, 0-9, _ and - (no wildcards).", name);
        }
    }

    /// <summary>Says where the inboxes are without the URL's credentials.</summary>
    public override string ToString() =>
        $"SelfNatsOptions {{ Url = {DisplayUrl}, StreamName = {StreamName}, InboxSubjectPrefix = {InboxSubjectPrefix}, NotifySubjectPrefix = {NotifySubjectPrefix}, ClaimSubjectPrefix = {ClaimSubjectPrefix}, Replicas = {Replicas} }}";

    private static string WithoutCredentials(string url)
    {
        // Whatever comes before the '@' of the authority (user:password, or a token) is a secret.
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        var authorityStart = scheme < 0 ? 0 : scheme + 3;
        var authorityEnd = url.IndexOf('/', authorityStart);
        var authority = url.AsSpan(authorityStart, (authorityEnd < 0 ? url.Length : authorityEnd) - authorityStart);
        var at = authority.LastIndexOf('@');
        return at < 0 ? url : url[..authorityStart] + url[(authorityStart + at + 1)..];
    }

    private static bool Overlaps(string a, string b) =>
        a == b || a.StartsWith(b + ".", StringComparison.Ordinal) || b.StartsWith(a + ".", StringComparison.Ordinal);

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex StreamNamePattern();

    [GeneratedRegex(@"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex SubjectPrefixPattern();
}
