namespace Self.Protocol.Messages;

/// <summary>
/// The limits and time checks of spec §9, in one place for both sides: the app SDK checks responses with them, the
/// device checks requests. Each check returns <see langword="null"/> when the message passes, else the reason it is
/// dropped (for the log).
/// </summary>
public static class RequestRules
{
    /// <summary>How far apart the clocks of app, device and network may be (60 s).</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(60);

    /// <summary>The longest a request may live: devices refuse an <c>exp</c> further away (24 h).</summary>
    public static readonly TimeSpan MaxRequestLifetime = TimeSpan.FromHours(24);

    /// <summary>The longest binding message a request may carry, in characters (64).</summary>
    public const int MaxBindingMessageLength = 64;

    /// <summary>True when <paramref name="bindingMessage"/> is 1 to 64 characters, none of them a control character.</summary>
    /// <param name="bindingMessage">The request's <c>binding_message</c>.</param>
    public static bool IsValidBindingMessage(string bindingMessage) =>
        bindingMessage.Length is > 0 and <= MaxBindingMessageLength && !bindingMessage.Any(char.IsControl);

    /// <summary>The device's time checks on a request: not expired, not more than 24 h away, not issued in the future.</summary>
    /// <param name="now">The device's clock.</param>
    /// <param name="issuedAt">The request's <c>iat</c>.</param>
    /// <param name="expires">The request's <c>exp</c>.</param>
    public static string? CheckRequestTimes(DateTimeOffset now, DateTimeOffset issuedAt, DateTimeOffset expires)
    {
        if (expires <= now)
        {
            return $"it expired at {expires:o}";
        }

        if (expires > now + MaxRequestLifetime + ClockSkew)
        {
            return $"its expiry {expires:o} is more than 24 hours away";
        }

        if (issuedAt > now + ClockSkew)
        {
            return $"it was issued in the future ({issuedAt:o})";
        }

        return null;
    }

    /// <summary>
    /// The app's time checks on a response to one of its requests: the response's <c>iat</c> is not in the future and
    /// not earlier than the request's (less the skew), the request has not expired, and neither has the response's own
    /// <c>exp</c>.
    /// </summary>
    /// <param name="now">The app's clock.</param>
    /// <param name="requestIssuedAt">The request's <c>iat</c>; <see langword="null"/> when it is not known (then that check is skipped).</param>
    /// <param name="requestExpires">The request's <c>exp</c>.</param>
    /// <param name="responseIssuedAt">The response's <c>iat</c>.</param>
    /// <param name="responseExpires">The response's <c>exp</c>.</param>
    public static string? CheckResponseTimes(
        DateTimeOffset now, DateTimeOffset? requestIssuedAt, DateTimeOffset requestExpires, DateTimeOffset responseIssuedAt,
        DateTimeOffset responseExpires)
    {
        if (responseIssuedAt > now + ClockSkew)
        {
            return "iat is in the future";
        }

        if (now > requestExpires)
        {
            return "the request has expired";
        }

        if (now > responseExpires)
        {
            return "the response has expired";
        }

        if (requestIssuedAt is { } requested && responseIssuedAt < requested - ClockSkew)
        {
            return "iat is earlier than the request's";
        }

        return null;
    }
}
