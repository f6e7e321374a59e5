namespace Self.Protocol.Auth;

/// <summary>The claims of an auth token, with the header's kid.</summary>
/// <param name="Jti">Unique token id.</param>
/// <param name="Cid">Conversation id (a fresh uuid per token in gen-1).</param>
/// <param name="Iss">The caller's Self ID or app id.</param>
/// <param name="Sub">Equal to <paramref name="Iss"/> in a valid token.</param>
/// <param name="Typ">Always <c>auth.token</c> in a valid token.</param>
/// <param name="Iat">Issued at (whole seconds on the wire).</param>
/// <param name="Exp">Expires at (whole seconds on the wire).</param>
/// <param name="Kid">The id of the signing key, from the header.</param>
public sealed record AuthTokenClaims(
    string Jti,
    string Cid,
    string Iss,
    string Sub,
    string Typ,
    DateTimeOffset Iat,
    DateTimeOffset Exp,
    string Kid);
