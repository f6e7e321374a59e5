using Self.Protocol.Keys;

namespace Self.Messaging;

/// <summary>Settings of a <see cref="SelfRestClient"/>.</summary>
internal sealed record SelfRestClientOptions
{
    /// <summary>The server's base address, e.g. <c>http://127.0.0.1:8080/</c>.</summary>
    public required Uri BaseAddress { get; init; }

    /// <summary>The calling identity (Self ID or app id); <see langword="null"/> for a client that only registers identities or creates apps.</summary>
    public string? IdentityId { get; init; }

    /// <summary>The key that signs each call's auth token (spec §4); required together with <see cref="IdentityId"/>.</summary>
    public SigningKey? SigningKey { get; init; }

    /// <summary>Clock for auth tokens and retry delays.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>How many times a call is retried after a connection failure or a 5xx answer (never after a 4xx).</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>The first retry delay; it doubles on each further retry up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest delay between two retries.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(10);
}
