using System.Globalization;
using System.Text;

namespace Self.Network.Nats;

/// <summary>
/// Maps an address (<c>selfid:device</c>) to a NATS subject <c>&lt;prefix&gt;.&lt;selfid&gt;.&lt;device&gt;</c>. Device ids may
/// contain <c>.</c>, which separates subject tokens, so every character outside <c>[A-Za-z0-9_-]</c> is written as
/// <c>%XX</c>; the mapping is one-to-one, and ordinary ids read as themselves.
/// </summary>
internal static class InboxSubjects
{
    public static string For(string prefix, string address)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        var colon = address.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == address.Length - 1)
        {
            throw new ArgumentException($"'{address}' is not an inbox address (selfid:device).", nameof(address));
        }

        var builder = new StringBuilder(prefix.Length + address.Length + 8);
        builder.Append(prefix).Append('.');
        Escape(builder, address.AsSpan(0, colon));
        builder.Append('.');
        Escape(builder, address.AsSpan(colon + 1));
        return builder.ToString();
    }

    private static void Escape(StringBuilder builder, ReadOnlySpan<char> token)
    {
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in token.EnumerateRunes())
        {
            if (rune.IsAscii && (char.IsAsciiLetterOrDigit((char)rune.Value) || rune.Value is '_' or '-'))
            {
                builder.Append((char)rune.Value);
                continue;
            }

            var length = rune.EncodeToUtf8(utf8);
            foreach (var b in utf8[..length])
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
    }
}
