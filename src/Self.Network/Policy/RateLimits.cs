namespace Self.Network.Policy;

/// <summary>The server-wide limiters built from <see cref="RateLimitOptions"/>.</summary>
internal sealed class RateLimits
{
    /// <summary>Builds the limiters.</summary>
    public RateLimits(SelfNetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var limits = options.RateLimits;
        Messages = new KeyedRateLimiter(limits.MessagesPerRecipient, limits.MessageWindow, options.TimeProvider);
        Registrations = new KeyedRateLimiter(limits.IdentitiesPerClient, limits.IdentityWindow, options.TimeProvider);
        SelfMessages = new KeyedRateLimiter(limits.SelfMessagesPerIdentity, limits.SelfMessageWindow, options.TimeProvider);
    }

    /// <summary>Messages of an identity to its own devices; keyed by the identity, tagged with the frame id.</summary>
    public KeyedRateLimiter SelfMessages { get; }

    /// <summary>Messages per sender identity per recipient identity; keyed <c>sender→recipient</c>, tagged with the frame id.</summary>
    public KeyedRateLimiter Messages { get; }

    /// <summary>New identities per client address.</summary>
    public KeyedRateLimiter Registrations { get; }
}
