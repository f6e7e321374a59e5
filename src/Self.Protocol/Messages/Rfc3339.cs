using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Self.Protocol.Messages;

/// <summary>
/// RFC 3339 timestamps as messages carry them: written in UTC with milliseconds and <c>Z</c>; read with whole or
/// fractional seconds (up to nanoseconds) and any offset.
/// </summary>
public static partial class Rfc3339
{
    /// <summary>Writes <paramref name="value"/> as <c>yyyy-MM-ddTHH:mm:ss.fffZ</c>.</summary>
    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Reads an RFC 3339 date-time; false when the text is not one.</summary>
    public static bool TryParse(string? text, out DateTimeOffset value)
    {
        value = default;
        if (text is null || text.Length > 64)
        {
            return false;
        }

        var match = Pattern().Match(text);
        if (!match.Success)
        {
            return false;
        }

        try
        {
            var offset = TimeSpan.Zero;
            var zone = match.Groups["zone"].Value;
            if (zone is not ("Z" or "z"))
            {
                var hours = int.Parse(zone.AsSpan(1, 2), CultureInfo.InvariantCulture);
                var minutes = int.Parse(zone.AsSpan(4, 2), CultureInfo.InvariantCulture);
                if (hours > 23 || minutes > 59)
                {
                    return false;
                }

                offset = new TimeSpan(hours, minutes, 0);
                if (zone[0] == '-')
                {
                    offset = -offset;
                }
            }

            var result = new DateTimeOffset(
                Number(match, "year"), Number(match, "month"), Number(match, "day"),
                Number(match, "hour"), Number(match, "minute"), Number(match, "second"),
                offset);
            var fraction = match.Groups["fraction"].Value;
            if (fraction.Length > 0)
            {
                var ticks = fraction.Length >= 7 ? fraction[..7] : fraction.PadRight(7, '0');
                result = result.AddTicks(long.Parse(ticks, CultureInfo.InvariantCulture));
            }

            value = result;
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    /// <summary>Reads an RFC 3339 date-time.</summary>
    /// <exception cref="FormatException">The text is not one.</exception>
    public static DateTimeOffset Parse(string text) =>
        TryParse(text, out var value) ? value : throw new FormatException("Not an RFC 3339 date-time.");

    private static int Number(Match match, string group) =>
        int.Parse(match.Groups[group].ValueSpan, CultureInfo.InvariantCulture);

    [GeneratedRegex(
        @"^(?<year>\d{4})-(?<month>\d{2})-(?<day>\d{2})[Tt ](?<hour>\d{2}):(?<minute>\d{2}):(?<second>\d{2})(?:\.(?<fraction>\d{1,9}))?(?<zone>[Zz]|[+-]\d{2}:\d{2})$",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture,
        matchTimeoutMilliseconds: 1000)]
    private static partial Regex Pattern();
}

/// <summary>
/// JSON converter for claim times: writes RFC 3339 (UTC, milliseconds, <c>Z</c>); reads RFC 3339 strings, and
/// also unix seconds or milliseconds as a number, as some SDKs send.
/// </summary>
public sealed class Rfc3339JsonConverter : JsonConverter<DateTimeOffset>
{
    /// <inheritdoc />
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String when Rfc3339.TryParse(reader.GetString(), out var value):
                return value;
            case JsonTokenType.Number when reader.TryGetInt64(out var number) && number > 0 && number < long.MaxValue / 1000:
                try
                {
                    return UnixTimestamps.ToDateTimeOffset(number);
                }
                catch (ArgumentOutOfRangeException ex)
                {
                    throw new JsonException("The time is out of range.", ex);
                }

            default:
                throw new JsonException("Expected an RFC 3339 date-time string.");
        }
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(Rfc3339.Format(value));
    }
}
