using System.Diagnostics.CodeAnalysis;

namespace Self.Protocol.Encoding;

/// <summary>
/// Base64 as the spec uses it: we write base64url or standard base64 without padding, and read either alphabet,
/// with or without padding. Whitespace and any other character are refused.
/// </summary>
public static class Base64Codec
{
    /// <summary>Encodes as base64url without padding (the JWS and key-history form).</summary>
    public static string EncodeUrl(ReadOnlySpan<byte> data)
    {
        var text = Convert.ToBase64String(data);
        return string.Create(TrimmedLength(text), text, static (span, source) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = source[i] switch
                {
                    '+' => '-',
                    '/' => '_',
                    var c => c,
                };
            }
        });
    }

    /// <summary>Encodes as standard base64 without padding (the Olm and secret-key form).</summary>
    public static string EncodeStandard(ReadOnlySpan<byte> data)
    {
        var text = Convert.ToBase64String(data);
        return text[..TrimmedLength(text)];
    }

    /// <summary>Decodes base64url or standard base64, padded or not.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="FormatException">The text is not base64 in either alphabet.</exception>
    public static byte[] Decode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryDecode(text, out var bytes)
            ? bytes
            : throw new FormatException("The text is not valid base64 or base64url.");
    }

    /// <summary>Decodes base64url or standard base64, padded or not; false when the text is not base64.</summary>
    public static bool TryDecode(string? text, [NotNullWhen(true)] out byte[]? bytes)
    {
        bytes = null;
        if (text is null)
        {
            return false;
        }

        var length = text.Length;
        var padding = 0;
        while (length > 0 && text[length - 1] == '=' && padding < 2)
        {
            length--;
            padding++;
        }

        if (length % 4 == 1 || (padding > 0 && (length + padding) % 4 != 0))
        {
            return false;
        }

        var paddedLength = (length + 3) / 4 * 4;
        var buffer = paddedLength <= 1024 ? stackalloc char[paddedLength] : new char[paddedLength];
        for (var i = 0; i < length; i++)
        {
            var c = text[i];
            buffer[i] = c switch
            {
                '-' => '+',
                '_' => '/',
                >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '+' or '/' => c,
                _ => '\0',
            };
            if (buffer[i] == '\0')
            {
                return false;
            }
        }

        buffer[length..].Fill('=');
        var output = new byte[paddedLength / 4 * 3];
        if (!Convert.TryFromBase64Chars(buffer, output, out var written))
        {
            return false;
        }

        bytes = written == output.Length ? output : output[..written];
        return true;
    }

    private static int TrimmedLength(string text)
    {
        var length = text.Length;
        while (length > 0 && text[length - 1] == '=')
        {
            length--;
        }

        return length;
    }
}
