using System.Buffers;
using System.Text.Json;
using Self.Protocol.Keys;

namespace Self.Protocol.Jws;

/// <summary>
/// A JWS in flattened JSON form, <c>{"payload", "protected", "signature"}</c> (spec §2): every message and every
/// key-history operation. The three parts are kept exactly as received, because the signature covers their text.
/// An instance is always well formed: the constructor decodes and checks every part.
/// </summary>
public sealed record FlattenedJws
{
    private const int MaxDepth = 8;
    private readonly byte[] _payloadBytes;
    private readonly byte[] _signatureBytes;

    /// <summary>Builds a JWS from its three encoded parts, checking that each decodes.</summary>
    /// <exception cref="JwsFormatException">A part is not base64url or the header is not a valid header. (A
    /// signature of the wrong length is accepted here and simply never verifies.)</exception>
    public FlattenedJws(string payload, string @protected, string signature)
    {
        _payloadBytes = JwsParts.DecodePart(payload, "payload");
        Header = JwsParts.ParseHeader(@protected);
        _signatureBytes = JwsParts.DecodeSignature(signature);
        Payload = payload;
        Protected = @protected;
        Signature = signature;
    }

    /// <summary>The b64url claims, as received.</summary>
    public string Payload { get; }

    /// <summary>The b64url protected header, as received.</summary>
    public string Protected { get; }

    /// <summary>The b64url signature, as received (also what a history's <c>previous</c> refers to).</summary>
    public string Signature { get; }

    /// <summary>The decoded protected header.</summary>
    public JwsHeader Header { get; }

    /// <summary>The decoded claims (UTF-8 JSON, normally).</summary>
    public ReadOnlyMemory<byte> PayloadBytes => _payloadBytes;

    /// <summary>Signs <paramref name="claimsJson"/> with <paramref name="key"/>: header
    /// <c>{"alg":"EdDSA","typ":typ,"kid":key.Kid}</c> (no <c>typ</c> when it is null).</summary>
    public static FlattenedJws Sign(ReadOnlySpan<byte> claimsJson, SigningKey key, string? typ = JwsHeader.Jwt)
    {
        ArgumentNullException.ThrowIfNull(key);
        var header = JwsParts.EncodeHeader(key.Kid, typ);
        var payload = Encoding.Base64Codec.EncodeUrl(claimsJson);
        return new FlattenedJws(payload, header, JwsParts.SignToEncoded(header, payload, key));
    }

    /// <summary>Reads the flattened JSON form.</summary>
    /// <exception cref="JwsFormatException">The text is not a well-formed flattened JWS.</exception>
    public static FlattenedJws Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Parse(System.Text.Encoding.UTF8.GetBytes(json));
    }

    /// <summary>Reads the flattened JSON form from UTF-8 bytes.</summary>
    /// <exception cref="JwsFormatException">The bytes are not a well-formed flattened JWS.</exception>
    public static FlattenedJws Parse(ReadOnlySpan<byte> utf8)
    {
        string? payload = null;
        string? header = null;
        string? signature = null;
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JwsFormatException("A flattened JWS is a JSON object.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                reader.Read();
                switch (name)
                {
                    case "payload":
                        payload = ReadMember(ref reader, name, payload);
                        break;
                    case "protected":
                        header = ReadMember(ref reader, name, header);
                        break;
                    case "signature":
                        signature = ReadMember(ref reader, name, signature);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                throw new JwsFormatException("The flattened JWS has content after its JSON object.");
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string escape that is not valid UTF-16 (a lone surrogate).
            throw new JwsFormatException("The flattened JWS is not valid JSON.", ex);
        }

        return new FlattenedJws(
            payload ?? throw new JwsFormatException("The flattened JWS has no 'payload'."),
            header ?? throw new JwsFormatException("The flattened JWS has no 'protected' header."),
            signature ?? throw new JwsFormatException("The flattened JWS has no 'signature'."));
    }

    /// <summary>Reads the flattened JSON form from a parsed JSON value.</summary>
    /// <exception cref="JwsFormatException">The value is not a well-formed flattened JWS.</exception>
    public static FlattenedJws FromJsonElement(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object
            ? Parse(System.Text.Encoding.UTF8.GetBytes(element.GetRawText()))
            : throw new JwsFormatException("A flattened JWS is a JSON object.");

    /// <summary>
    /// True when the signature is a valid Ed25519 signature by <paramref name="publicKey"/>; always false when
    /// <c>alg</c> is anything but <c>EdDSA</c>.
    /// </summary>
    public bool Verify(ReadOnlySpan<byte> publicKey) =>
        JwsParts.Verify(Header, Protected, Payload, _signatureBytes, publicKey);

    /// <summary>The wire form, members in the order payload, protected, signature.</summary>
    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(Payload.Length + Protected.Length + Signature.Length + 48);
        WriteTo(buffer);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The wire form as UTF-8 bytes.</summary>
    public byte[] ToUtf8Bytes()
    {
        var buffer = new ArrayBufferWriter<byte>(Payload.Length + Protected.Length + Signature.Length + 48);
        WriteTo(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes the JWS as a JSON object into an existing writer (for embedding in larger documents).</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("payload", Payload);
        writer.WriteString("protected", Protected);
        writer.WriteString("signature", Signature);
        writer.WriteEndObject();
    }

    /// <inheritdoc />
    public bool Equals(FlattenedJws? other) =>
        other is not null
        && string.Equals(Payload, other.Payload, StringComparison.Ordinal)
        && string.Equals(Protected, other.Protected, StringComparison.Ordinal)
        && string.Equals(Signature, other.Signature, StringComparison.Ordinal);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Payload, Protected, Signature);

    /// <summary>Names the signer only: message contents stay out of logs.</summary>
    public override string ToString() => $"FlattenedJws(alg={Header.Alg}, kid={Header.Kid})";

    private void WriteTo(IBufferWriter<byte> buffer)
    {
        using var writer = new Utf8JsonWriter(buffer);
        WriteTo(writer);
    }

    private static string ReadMember(ref Utf8JsonReader reader, string name, string? existing)
    {
        if (existing is not null)
        {
            throw new JwsFormatException($"The flattened JWS repeats '{name}'.");
        }

        return reader.TokenType == JsonTokenType.String
            ? reader.GetString()!
            : throw new JwsFormatException($"The flattened JWS member '{name}' is not a string.");
    }
}
