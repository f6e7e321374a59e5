using System.Buffers;
using System.Text.Json;
using Self.Protocol.Encoding;
using Self.Protocol.Keys;

namespace Self.Protocol.Jws;

/// <summary>What flattened and compact JWS share: header handling, the signing input, signing and verifying.</summary>
internal static class JwsParts
{
    private const int MaxHeaderDepth = 4;

    public static string EncodeHeader(string kid, string? typ)
    {
        ArgumentException.ThrowIfNullOrEmpty(kid);
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("alg", JwsHeader.EdDsa);
            if (typ is not null)
            {
                writer.WriteString("typ", typ);
            }

            writer.WriteString("kid", kid);
            writer.WriteEndObject();
        }

        return Base64Codec.EncodeUrl(buffer.WrittenSpan);
    }

    public static byte[] SigningInput(string encodedHeader, string encodedPayload)
    {
        var input = new byte[encodedHeader.Length + 1 + encodedPayload.Length];
        var written = System.Text.Encoding.ASCII.GetBytes(encodedHeader, input);
        input[written] = (byte)'.';
        System.Text.Encoding.ASCII.GetBytes(encodedPayload, input.AsSpan(written + 1));
        return input;
    }

    public static string SignToEncoded(string encodedHeader, string encodedPayload, SigningKey key) =>
        Base64Codec.EncodeUrl(key.Sign(SigningInput(encodedHeader, encodedPayload)));

    public static bool Verify(JwsHeader header, string encodedHeader, string encodedPayload, byte[] signature, ReadOnlySpan<byte> publicKey) =>
        string.Equals(header.Alg, JwsHeader.EdDsa, StringComparison.Ordinal)
        && Ed25519Verifier.Verify(publicKey, SigningInput(encodedHeader, encodedPayload), signature);

    public static byte[] DecodePart(string? part, string name)
    {
        if (part is null)
        {
            throw new JwsFormatException($"The JWS has no '{name}'.");
        }

        if (!Base64Codec.TryDecode(part, out var bytes))
        {
            throw new JwsFormatException($"The JWS '{name}' is not base64url.");
        }

        return bytes;
    }

    public static byte[] DecodeSignature(string? part) => DecodePart(part, "signature");

    public static JwsHeader ParseHeader(string? encodedHeader)
    {
        var json = DecodePart(encodedHeader, "protected");
        string? alg = null;
        string? kid = null;
        string? typ = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxHeaderDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JwsFormatException("The JWS header is not a JSON object.");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                if (!seen.Add(name))
                {
                    throw new JwsFormatException($"The JWS header repeats '{name}'.");
                }

                reader.Read();
                switch (name)
                {
                    case "alg":
                        alg = ReadString(ref reader, name);
                        break;
                    case "kid":
                        kid = ReadString(ref reader, name);
                        break;
                    case "typ":
                        typ = reader.TokenType == JsonTokenType.Null ? null : ReadString(ref reader, name);
                        break;
                    case "crit":
                        throw new JwsFormatException("The JWS header has critical extensions ('crit'), which are not supported.");
                    default:
                        reader.Skip();
                        break;
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                throw new JwsFormatException("The JWS header has content after its JSON object.");
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string escape that is not valid UTF-16 (a lone surrogate).
            throw new JwsFormatException("The JWS header is not valid JSON.", ex);
        }

        if (alg is null)
        {
            throw new JwsFormatException("The JWS header has no 'alg'.");
        }

        if (string.IsNullOrEmpty(kid))
        {
            throw new JwsFormatException("The JWS header has no 'kid'.");
        }

        return new JwsHeader(alg, kid, typ);
    }

    private static string ReadString(ref Utf8JsonReader reader, string name) =>
        reader.TokenType == JsonTokenType.String
            ? reader.GetString()!
            : throw new JwsFormatException($"The JWS header's '{name}' is not a string.");
}
