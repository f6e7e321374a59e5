using System.Buffers;
using System.Text.Json;
using Self.Protocol.Jws;
using Self.Protocol.Keys;

namespace Self.Protocol.Auth;

/// <summary>
/// Auth tokens (spec §4): a compact JWS with <c>jti</c>, <c>cid</c>, <c>iat</c> = now − 5 s, <c>exp</c> = now + 60 s
/// (integer unix seconds), <c>iss</c> = <c>sub</c> = the caller, <c>typ</c> = <c>auth.token</c>.
/// </summary>
public static class AuthToken
{
    /// <summary>The <c>typ</c> claim of an auth token.</summary>
    public const string TokenType = "auth.token";

    /// <summary>How far before now <c>iat</c> is set, so that a slightly slow server clock still accepts it.</summary>
    public static readonly TimeSpan IssuedBefore = TimeSpan.FromSeconds(5);

    /// <summary>How long a token lives after now.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    /// <summary>The clock skew the spec allows on <c>iat</c> and <c>exp</c>.</summary>
    public static readonly TimeSpan DefaultSkew = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The longest span a verifier accepts between <c>iat</c> and <c>exp</c>, and how far <c>iat</c> may lie in the
    /// past beyond the skew (spec §4: 65 s, the 5 s back-dating plus the 60 s lifetime).
    /// </summary>
    public static readonly TimeSpan MaxLifetime = IssuedBefore + Lifetime;

    /// <summary>Creates a token for <paramref name="issuer"/>, signed by <paramref name="key"/>.</summary>
    public static string Create(SigningKey key, string issuer, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(issuer);
        ArgumentNullException.ThrowIfNull(time);
        var now = time.GetUtcNow();
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            // Member order as the TypeScript SDK writes it.
            writer.WriteStartObject();
            writer.WriteString("jti", Guid.NewGuid().ToString("D"));
            writer.WriteString("cid", Guid.NewGuid().ToString("D"));
            writer.WriteNumber("iat", (now - IssuedBefore).ToUnixTimeSeconds());
            writer.WriteNumber("exp", (now + Lifetime).ToUnixTimeSeconds());
            writer.WriteString("iss", issuer);
            writer.WriteString("sub", issuer);
            writer.WriteString("typ", TokenType);
            writer.WriteEndObject();
        }

        return CompactJws.Sign(buffer.WrittenSpan, key).ToCompact();
    }

    /// <summary>
    /// Reads the claims without checking the signature or the time, to learn who claims to call and with which key.
    /// </summary>
    /// <exception cref="AuthTokenException">The token is not a well-formed auth token (<see cref="AuthTokenFailure.Malformed"/>).</exception>
    public static AuthTokenClaims ReadUnverified(string token) => Read(token).Claims;

    /// <summary>
    /// Verifies the token with the caller's public key at <paramref name="now"/>, allowing <paramref name="skew"/>
    /// on <c>iat</c> and <c>exp</c>, and refusing a token that lives longer than <see cref="MaxLifetime"/> from
    /// <c>iat</c> to <c>exp</c> or whose <c>iat</c> is older than <see cref="MaxLifetime"/> plus the skew. Replays
    /// (a <c>jti</c> seen before) are the verifier's to refuse: it remembers <c>jti</c> until <c>exp</c> + skew. The caller looks the key up by <see cref="AuthTokenClaims.Kid"/> and
    /// checks that it is valid now.
    /// </summary>
    /// <exception cref="AuthTokenException">The token is refused; <see cref="AuthTokenException.Reason"/> says why.</exception>
    public static AuthTokenClaims Verify(string token, ReadOnlySpan<byte> publicKey, DateTimeOffset now, TimeSpan skew)
    {
        if (skew < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(skew), "The clock skew cannot be negative.");
        }

        var (jws, claims) = Read(token);
        if (!string.Equals(jws.Header.Alg, JwsHeader.EdDsa, StringComparison.Ordinal))
        {
            throw new AuthTokenException(AuthTokenFailure.UnsupportedAlgorithm, "Auth tokens must be signed with EdDSA.");
        }

        if (!jws.Verify(publicKey))
        {
            throw new AuthTokenException(AuthTokenFailure.InvalidSignature, "The auth token's signature does not verify.");
        }

        if (!string.Equals(claims.Typ, TokenType, StringComparison.Ordinal))
        {
            throw new AuthTokenException(AuthTokenFailure.WrongType, "The token's 'typ' is not 'auth.token'.");
        }

        if (!string.Equals(claims.Iss, claims.Sub, StringComparison.Ordinal))
        {
            throw new AuthTokenException(AuthTokenFailure.IssuerMismatch, "The token's 'iss' and 'sub' differ.");
        }

        // Differences of two DateTimeOffsets always fit a TimeSpan, so no claim (year 1 or 9999) can overflow here.
        var lifetime = claims.Exp - claims.Iat;
        if (lifetime < TimeSpan.Zero)
        {
            throw new AuthTokenException(AuthTokenFailure.LifetimeTooLong, "The auth token's 'exp' lies before its 'iat'.");
        }

        if (lifetime > MaxLifetime)
        {
            throw new AuthTokenException(
                AuthTokenFailure.LifetimeTooLong,
                $"The auth token lives {(long)lifetime.TotalSeconds} s from 'iat' to 'exp'; at most {(long)MaxLifetime.TotalSeconds} s are accepted.");
        }

        if (now - claims.Exp > skew)
        {
            throw new AuthTokenException(AuthTokenFailure.Expired, "The auth token has expired.");
        }

        if (claims.Iat - now > skew)
        {
            throw new AuthTokenException(AuthTokenFailure.IssuedInFuture, "The auth token was issued in the future; check the clock.");
        }

        if (now - claims.Iat > MaxLifetime + skew)
        {
            throw new AuthTokenException(AuthTokenFailure.Expired, "The auth token was issued too long ago.");
        }

        return claims;
    }

    private static (CompactJws Jws, AuthTokenClaims Claims) Read(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        CompactJws jws;
        try
        {
            jws = CompactJws.Parse(token);
        }
        catch (JwsFormatException ex)
        {
            throw new AuthTokenException(AuthTokenFailure.Malformed, "The auth token is not a well-formed compact JWS.", ex);
        }

        try
        {
            using var document = Encoding.StrictJson.Parse(jws.PayloadBytes, 8);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Malformed("The auth token's claims are not a JSON object.");
            }

            var claims = new AuthTokenClaims(
                Jti: RequiredString(root, "jti"),
                Cid: OptionalString(root, "cid") ?? string.Empty,
                Iss: RequiredString(root, "iss"),
                Sub: RequiredString(root, "sub"),
                Typ: RequiredString(root, "typ"),
                Iat: UnixTime(root, "iat"),
                Exp: UnixTime(root, "exp"),
                Kid: jws.Header.Kid);
            return (jws, claims);
        }
        catch (JsonException ex)
        {
            throw new AuthTokenException(AuthTokenFailure.Malformed, "The auth token's claims are not valid JSON.", ex);
        }
    }

    private static string RequiredString(JsonElement root, string name) =>
        OptionalString(root, name) is { Length: > 0 } value
            ? value
            : throw Malformed($"The auth token has no '{name}' claim.");

    private static string? OptionalString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw Malformed($"The auth token's '{name}' claim is not a string.");
    }

    private static DateTimeOffset UnixTime(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Number)
        {
            throw Malformed($"The auth token's '{name}' claim is not a number of unix seconds.");
        }

        if (!value.TryGetInt64(out var number))
        {
            if (!value.TryGetDouble(out var real) || !double.IsFinite(real))
            {
                throw Malformed($"The auth token's '{name}' claim is not a number of unix seconds.");
            }

            number = (long)Math.Floor(real);
        }

        try
        {
            return UnixTimestamps.ToDateTimeOffset(number);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new AuthTokenException(AuthTokenFailure.Malformed, $"The auth token's '{name}' claim is out of range.", ex);
        }
    }

    private static AuthTokenException Malformed(string message) => new(AuthTokenFailure.Malformed, message);
}
