using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Self.Oidc.Tests.Infrastructure;

internal static class Tokens
{
    /// <summary>Validates an ID token as a relying party must: signature by a published key, iss, aud, lifetime.</summary>
    /// <remarks>
    /// <paramref name="at"/>: another provider than the fixture's, whose JWKS is read there; <paramref name="issuer"/>:
    /// its issuer when not its own address (instances behind one issuer).
    /// </remarks>
    public static async Task<JsonWebToken> ValidateIdTokenAsync(OidcFixture fixture, string idToken, string clientId, Uri? at = null, Uri? issuer = null)
    {
        at ??= fixture.Issuer;
        issuer ??= at;
        var jwks = new JsonWebKeySet(await fixture.Http.GetStringAsync(new Uri(at, ".well-known/jwks")));
        var now = fixture.Time.GetUtcNow().UtcDateTime;
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(idToken, new TokenValidationParameters
        {
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidIssuer = issuer.AbsoluteUri,
            ValidAudience = clientId,
            LifetimeValidator = (nbf, exp, _, _) => exp > now && (nbf is null || nbf <= now.AddMinutes(1)),
        });
        Assert.True(result.IsValid, result.Exception?.ToString());
        return (JsonWebToken)result.SecurityToken;
    }

    /// <summary>An RSA key pair for private_key_jwt and request objects, with its public JWKS document.</summary>
    public static (RsaSecurityKey Key, string Jwks) NewClientKey()
    {
        var rsa = RSA.Create(2048);
        var key = new RsaSecurityKey(rsa) { KeyId = "client-" + Guid.NewGuid().ToString("N")[..8] };
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.ExportParameters(false)) { KeyId = key.KeyId });
        var jwks = JsonSerializer.Serialize(new { keys = new[] { new { kty = "RSA", use = "sig", alg = "RS256", kid = jwk.Kid, n = jwk.N, e = jwk.E } } });
        return (key, jwks);
    }

    /// <summary>A signed JWT with <paramref name="claims"/>, as a client signs assertions and request objects.</summary>
    public static string Sign(RsaSecurityKey key, IDictionary<string, object> claims, DateTimeOffset now, string? type = null) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = now.UtcDateTime.AddMinutes(2),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
            TokenType = type ?? "JWT",
        });

    /// <summary>A JWT whose header has no <c>typ</c> (as oauth4webapi, under openid-client 6, signs client assertions).</summary>
    public static string SignWithoutType(RsaSecurityKey key, IDictionary<string, object> claims, DateTimeOffset now)
    {
        var header = JsonSerializer.Serialize(new Dictionary<string, string> { ["alg"] = "RS256", ["kid"] = key.KeyId });
        var payload = new Dictionary<string, object>(claims)
        {
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.AddMinutes(2).ToUnixTimeSeconds(),
        };
        var input = Base64UrlEncoder.Encode(header) + "." + Base64UrlEncoder.Encode(JsonSerializer.Serialize(payload));
        var signature = key.Rsa.SignData(System.Text.Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return input + "." + Base64UrlEncoder.Encode(signature);
    }

    /// <summary>The <c>typ</c> of a JWT's header; null when it has none.</summary>
    public static string? HeaderType(string jwt) =>
        JsonDocument.Parse(Base64UrlEncoder.Decode(jwt.Split('.')[0])).RootElement.TryGetProperty("typ", out var typ) ? typ.GetString() : null;
}
