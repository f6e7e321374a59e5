using System.Globalization;
using System.Text.RegularExpressions;
using Self.Protocol.Frames;

namespace Self.Protocol;

/// <summary>
/// A message was refused: by the server (an ERR notification answering the frame), by the REST API before it was
/// sent (the recipient has not connected), or locally (the frame is larger than the server accepts).
/// </summary>
public sealed partial class MessageRefusedException : SelfException
{
    /// <summary>Creates the exception from the server's error type and reason text (kept verbatim).</summary>
    public MessageRefusedException(ErrType errorType, string reason, Exception? innerException = null)
        : base("message_refused", $"message refused: {reason}", innerException)
    {
        ErrorType = errorType;
        Reason = reason;
        RetryAfter = ParseRetryAfter(reason);
        IsNotConnected = reason.Contains("has not connected", StringComparison.OrdinalIgnoreCase);
        IsRateLimited = reason.Contains("rate limited", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The server's error type.</summary>
    public ErrType ErrorType { get; }

    /// <summary>The server's reason, verbatim (e.g. <c>recipient 84099724068 has not connected to …</c>).</summary>
    public string Reason { get; }

    /// <summary>When the reason is "rate limited; retry after N s": N seconds, else <see langword="null"/>.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>True when the recipient has not connected to (permitted) the sender (spec §7).</summary>
    public bool IsNotConnected { get; }

    /// <summary>True when the server's rate limit refused the message.</summary>
    public bool IsRateLimited { get; }

    private static TimeSpan? ParseRetryAfter(string reason)
    {
        var match = RetryAfterPattern().Match(reason);
        return match.Success && double.TryParse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : null;
    }

    [GeneratedRegex(@"retry after (\d+(?:\.\d+)?)\s*s", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex RetryAfterPattern();
}
