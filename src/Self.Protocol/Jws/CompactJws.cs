using Self.Protocol.Keys;

namespace Self.Protocol.Jws;

/// <summary>
/// A JWS in compact form, <c>header.payload.signature</c> (used only for auth tokens, spec §4). An instance is
/// always well formed: the constructor decodes and checks every part.
/// </summary>
public sealed record CompactJws
{
    private readonly byte[] _payloadBytes;
    private readonly byte[] _signatureBytes;

    /// <summary>Builds a JWS from its three encoded parts, checking that each decodes.</summary>
    /// <exception cref="JwsFormatException">A part is not base64url or the header is not valid. (A signature of
    /// the wrong length is accepted here and simply never verifies.)</exception>
    public CompactJws(string @protected, string payload, string signature)
    {
        Header = JwsParts.ParseHeader(@protected);
        _payloadBytes = JwsParts.DecodePart(payload, "payload");
        _signatureBytes = JwsParts.DecodeSignature(signature);
        Protected = @protected;
        Payload = payload;
        Signature = signature;
    }

    /// <summary>The b64url protected header, as received.</summary>
    public string Protected { get; }

    /// <summary>The b64url claims, as received.</summary>
    public string Payload { get; }

    /// <summary>The b64url signature, as received.</summary>
    public string Signature { get; }

    /// <summary>The decoded protected header.</summary>
    public JwsHeader Header { get; }

    /// <summary>The decoded claims.</summary>
    public ReadOnlyMemory<byte> PayloadBytes => _payloadBytes;

    /// <summary>Signs <paramref name="claimsJson"/> with <paramref name="key"/> (header alg EdDSA, typ, kid).</summary>
    public static CompactJws Sign(ReadOnlySpan<byte> claimsJson, SigningKey key, string? typ = JwsHeader.Jwt)
    {
        ArgumentNullException.ThrowIfNull(key);
        var header = JwsParts.EncodeHeader(key.Kid, typ);
        var payload = Encoding.Base64Codec.EncodeUrl(claimsJson);
        return new CompactJws(header, payload, JwsParts.SignToEncoded(header, payload, key));
    }

    /// <summary>Reads <c>header.payload.signature</c>.</summary>
    /// <exception cref="JwsFormatException">The text does not have exactly three well-formed segments.</exception>
    public static CompactJws Parse(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var first = token.IndexOf('.', StringComparison.Ordinal);
        var second = first < 0 ? -1 : token.IndexOf('.', first + 1);
        if (first < 0 || second < 0 || token.IndexOf('.', second + 1) >= 0)
        {
            throw new JwsFormatException("A compact JWS has exactly three segments separated by '.'.");
        }

        return new CompactJws(token[..first], token[(first + 1)..second], token[(second + 1)..]);
    }

    /// <summary>
    /// True when the signature is a valid Ed25519 signature by <paramref name="publicKey"/>; always false when
    /// <c>alg</c> is anything but <c>EdDSA</c>.
    /// </summary>
    public bool Verify(ReadOnlySpan<byte> publicKey) =>
        JwsParts.Verify(Header, Protected, Payload, _signatureBytes, publicKey);

    /// <summary>The wire form, <c>header.payload.signature</c>.</summary>
    public string ToCompact() => Protected + "." + Payload + "." + Signature;

    /// <inheritdoc />
    public bool Equals(CompactJws? other) =>
        other is not null
        && string.Equals(Protected, other.Protected, StringComparison.Ordinal)
        && string.Equals(Payload, other.Payload, StringComparison.Ordinal)
        && string.Equals(Signature, other.Signature, StringComparison.Ordinal);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Protected, Payload, Signature);

    /// <summary>Names the signer only: a bearer token stays out of logs.</summary>
    public override string ToString() => $"CompactJws(alg={Header.Alg}, kid={Header.Kid})";
}
