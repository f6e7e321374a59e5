namespace Self.Protocol.Auth;

/// <summary>Why an auth token was refused.</summary>
public enum AuthTokenFailure
{
    /// <summary>Not a compact JWS, or its claims are not the auth-token claims.</summary>
    Malformed,

    /// <summary>The header's <c>alg</c> is not <c>EdDSA</c> (<c>none</c> and <c>HS256</c> included).</summary>
    UnsupportedAlgorithm,

    /// <summary>The signature does not verify with the caller's key.</summary>
    InvalidSignature,

    /// <summary>The <c>typ</c> claim is not <c>auth.token</c>.</summary>
    WrongType,

    /// <summary><c>iss</c> and <c>sub</c> differ.</summary>
    IssuerMismatch,

    /// <summary><c>exp</c> has passed (beyond the allowed clock skew).</summary>
    Expired,

    /// <summary><c>iat</c> lies in the future (beyond the allowed clock skew).</summary>
    IssuedInFuture,

    /// <summary><c>exp</c> − <c>iat</c> exceeds <see cref="AuthToken.MaxLifetime"/> (or is negative).</summary>
    LifetimeTooLong,

    /// <summary>The token's <c>jti</c> was accepted before: a replay.</summary>
    Replayed,
}

/// <summary>An auth token was refused (spec §4); <see cref="Reason"/> says why.</summary>
public sealed class AuthTokenException : SelfException
{
    /// <summary>Creates the exception.</summary>
    public AuthTokenException(AuthTokenFailure reason, string message, Exception? innerException = null)
        : base(CodeOf(reason), message, innerException)
    {
        Reason = reason;
    }

    /// <summary>Why the token was refused.</summary>
    public AuthTokenFailure Reason { get; }

    private static string CodeOf(AuthTokenFailure reason) => reason switch
    {
        AuthTokenFailure.Malformed => "token_malformed",
        AuthTokenFailure.UnsupportedAlgorithm => "token_unsupported_alg",
        AuthTokenFailure.InvalidSignature => "token_bad_signature",
        AuthTokenFailure.WrongType => "token_wrong_type",
        AuthTokenFailure.IssuerMismatch => "token_issuer_mismatch",
        AuthTokenFailure.Expired => "token_expired",
        AuthTokenFailure.IssuedInFuture => "token_not_yet_valid",
        AuthTokenFailure.LifetimeTooLong => "token_lifetime_too_long",
        AuthTokenFailure.Replayed => "token_replayed",
        _ => "token_invalid",
    };
}
