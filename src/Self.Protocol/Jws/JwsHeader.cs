namespace Self.Protocol.Jws;

/// <summary>The protected header of a JWS.</summary>
/// <param name="Alg">The algorithm; only <see cref="JwsHeader.EdDsa"/> ever verifies.</param>
/// <param name="Kid">The id of the signing key (always present).</param>
/// <param name="Typ">The token type, usually <c>JWT</c>, or null when absent.</param>
public sealed record JwsHeader(string Alg, string Kid, string? Typ)
{
    /// <summary>The only algorithm the protocol allows.</summary>
    public const string EdDsa = "EdDSA";

    /// <summary>The usual <c>typ</c>.</summary>
    public const string Jwt = "JWT";
}
