using System.Globalization;
using System.Text.Json;
using Self.Network.Http;
using Self.Protocol;
using Self.Protocol.Identifiers;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;

namespace Self.Network.Registry;

/// <summary>A connection permit or revoke whose signature and claims were checked.</summary>
/// <param name="Source">Who is (or no longer is) allowed to send: an identity id or <c>*</c>.</param>
/// <param name="AclExpires">When the permit lapses (<c>acl_exp</c>).</param>
/// <param name="IssuedAt">The JWS's <c>iat</c>.</param>
internal sealed record VerifiedAcl(string Source, DateTimeOffset AclExpires, DateTimeOffset IssuedAt);

/// <summary>
/// Checks <c>acl.permit</c> and <c>acl.revoke</c> JWS (spec §7): signed by a current device key of the identity,
/// <c>typ</c> as expected, <c>iss</c> = <c>sub</c> = the identity, <c>exp</c> in the future, a valid
/// <c>acl_source</c> and an RFC3339 <c>acl_exp</c>.
/// </summary>
internal static class AclVerifier
{
    public const string PermitType = "acl.permit";
    public const string RevokeType = "acl.revoke";

    public static VerifiedAcl Verify(ReadOnlySpan<byte> body, RegisteredIdentity identity, string expectedType, DateTimeOffset now, TimeSpan skew)
    {
        FlattenedJws jws;
        try
        {
            jws = FlattenedJws.Parse(body);
        }
        catch (JwsFormatException ex)
        {
            throw Invalid($"The body is not a signed {expectedType} JWS: {ex.Message}");
        }

        var key = identity.Graph.FindKey(jws.Header.Kid);
        if (key is not { Role: KeyRole.Device, IsActive: true })
        {
            throw Invalid($"The {expectedType} must be signed by a current device key of {identity.Id}; '{jws.Header.Kid}' is not one.");
        }

        if (!jws.Verify(key.PublicKey))
        {
            throw Invalid($"The {expectedType} signature does not verify with key '{key.Kid}'.");
        }

        try
        {
            using var document = Self.Protocol.Encoding.StrictJson.Parse(jws.PayloadBytes, 16);
            var claims = document.RootElement;
            if (claims.ValueKind != JsonValueKind.Object)
            {
                throw Invalid("The claims are not a JSON object.");
            }

            if (!string.Equals(String(claims, "typ"), expectedType, StringComparison.Ordinal))
            {
                throw Invalid($"The claim 'typ' must be '{expectedType}'.");
            }

            if (!string.Equals(String(claims, "iss"), identity.Id, StringComparison.Ordinal)
                || !string.Equals(String(claims, "sub"), identity.Id, StringComparison.Ordinal))
            {
                throw Invalid($"The claims 'iss' and 'sub' must both be {identity.Id}.");
            }

            var expires = Time(claims, "exp") ?? throw Invalid("The claim 'exp' is missing.");
            if (now - expires >= skew)
            {
                throw Invalid($"The {expectedType} has expired (exp {Format(expires)}).");
            }

            var issuedAt = Time(claims, "iat") ?? throw Invalid("The claim 'iat' is missing.");
            if (issuedAt - now > skew)
            {
                throw Invalid($"The {expectedType} was issued in the future (iat {Format(issuedAt)}).");
            }

            var source = String(claims, "acl_source");
            if (source is null || (source != "*" && !SelfIds.IsIdentityId(source)))
            {
                throw Invalid("The claim 'acl_source' must be an app id, a Self ID or '*'.");
            }

            var aclExpires = Time(claims, "acl_exp") ?? throw Invalid("The claim 'acl_exp' is missing.");
            return new VerifiedAcl(source, aclExpires, issuedAt);
        }
        catch (JsonException)
        {
            throw Invalid("The claims are not valid JSON.");
        }
    }

    /// <summary>RFC3339 UTC with whole seconds, as <c>acl_exp</c> is served.</summary>
    public static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string? String(JsonElement claims, string name) =>
        claims.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>An RFC3339 string (fractional seconds accepted) or, leniently, unix seconds/milliseconds.</summary>
    private static DateTimeOffset? Time(JsonElement claims, string name)
    {
        if (!claims.TryGetProperty(name, out var value))
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return parsed;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number))
        {
            try
            {
                return UnixTimestamps.ToDateTimeOffset(number);
            }
            catch (ArgumentOutOfRangeException)
            {
                throw Invalid($"The claim '{name}' is out of range.");
            }
        }

        throw Invalid($"The claim '{name}' is not an RFC3339 time.");
    }

    private static ApiException Invalid(string message) => ApiException.BadRequest(message, ErrorCodes.InvalidPermit);
}
