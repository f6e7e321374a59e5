namespace Self.Protocol;

/// <summary>
/// Unix timestamps in the wild are seconds or, from some SDKs, milliseconds. A value above 10^11 (year 5138 in
/// seconds, 1973 in milliseconds) is read as milliseconds.
/// </summary>
public static class UnixTimestamps
{
    /// <summary>Values above this are milliseconds.</summary>
    public const long MillisecondsThreshold = 100_000_000_000;

    /// <summary>The value in milliseconds, whichever unit it was written in.</summary>
    public static long ToMilliseconds(long secondsOrMilliseconds) =>
        secondsOrMilliseconds > MillisecondsThreshold || secondsOrMilliseconds < -MillisecondsThreshold
            ? secondsOrMilliseconds
            : secondsOrMilliseconds * 1000;

    /// <summary>The value in whole seconds (rounded down), whichever unit it was written in.</summary>
    public static long ToSeconds(long secondsOrMilliseconds) =>
        Math.DivRem(ToMilliseconds(secondsOrMilliseconds), 1000) is var (q, r) && r < 0 ? q - 1 : q;

    /// <summary>The instant, whichever unit it was written in.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside the range of <see cref="DateTimeOffset"/>.</exception>
    public static DateTimeOffset ToDateTimeOffset(long secondsOrMilliseconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds(ToMilliseconds(secondsOrMilliseconds));
}
