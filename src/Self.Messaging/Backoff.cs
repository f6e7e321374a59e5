namespace Self.Messaging;

/// <summary>Exponential back-off with a little jitter, so that many clients that lost the same server do not return in step.</summary>
internal static class Backoff
{
    public static TimeSpan Delay(int attempt, TimeSpan baseDelay, TimeSpan maxDelay)
    {
        var exponent = Math.Min(attempt, 16);
        var ticks = Math.Min(baseDelay.Ticks * (1L << exponent), maxDelay.Ticks);
        // Up to 20 % jitter; this is not a secret, so the shared generator is fine.
        var jitter = (long)(ticks * 0.2 * Random.Shared.NextDouble());
        return TimeSpan.FromTicks(Math.Min(ticks + jitter, maxDelay.Ticks));
    }
}
