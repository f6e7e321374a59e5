using Self.Network.Http;
using Self.Network.Registry;
using Self.Network.Storage;
using Self.Protocol.Auth;
using Self.Protocol.Identifiers;

namespace Self.Network.Authentication;

/// <summary>
/// Checks auth tokens (spec §4): the signature with the caller's key named by <c>kid</c>, that key valid now,
/// <c>typ</c> = <c>auth.token</c>, <c>iss</c> = <c>sub</c>, <c>iat</c>/<c>exp</c> within the allowed skew and at most
/// 65 s apart, and a <c>jti</c> not accepted before (remembered in the shared <see cref="ITokenReplayStore"/>).
/// </summary>
internal sealed class TokenAuthenticator(IdentityRegistry registry, ITokenReplayStore replays, SelfNetworkOptions options)
{
    /// <summary>Authenticates a bearer token; throws a 401 refusal with the reason when it is not acceptable.</summary>
    internal async ValueTask<Caller> AuthenticateAsync(string? token, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            throw ApiException.Unauthorized("An auth token is required: send 'Authorization: Bearer <token>'.");
        }

        AuthTokenClaims unverified;
        try
        {
            unverified = AuthToken.ReadUnverified(token);
        }
        catch (AuthTokenException ex)
        {
            throw ApiException.Unauthorized(ex.Message, ex.ErrorCode);
        }

        if (!SelfIds.IsIdentityId(unverified.Iss))
        {
            throw ApiException.Unauthorized("The token's issuer is not a Self ID or an app id.");
        }

        var identity = await registry.GetAsync(unverified.Iss, cancellationToken).ConfigureAwait(false)
            ?? throw ApiException.Unauthorized($"The token's issuer {unverified.Iss} is not registered.");
        var key = identity.Graph.FindKey(unverified.Kid)
            ?? throw ApiException.Unauthorized($"The history of {identity.Id} has no key '{unverified.Kid}'.");
        var now = options.TimeProvider.GetUtcNow();
        if (!identity.Graph.IsValidAt(key.Kid, now))
        {
            throw ApiException.Unauthorized($"Key '{key.Kid}' of {identity.Id} is not valid now (revoked).", "token_key_revoked");
        }

        AuthTokenClaims claims;
        try
        {
            claims = AuthToken.Verify(token, key.PublicKey, now, options.TokenClockSkew);
        }
        catch (AuthTokenException ex)
        {
            throw ApiException.Unauthorized(ex.Message, ex.ErrorCode);
        }

        // Only a token that verified is remembered: nobody can use up another caller's jti. It is kept for as long
        // as the token could still pass the time checks above.
        if (!await replays.TryRememberAsync(claims.Iss, claims.Jti, claims.Exp + options.TokenClockSkew, now, cancellationToken).ConfigureAwait(false))
        {
            var replayed = new AuthTokenException(AuthTokenFailure.Replayed, "This auth token was used before: make a fresh token (new 'jti') for every request.");
            throw ApiException.Unauthorized(replayed.Message, replayed.ErrorCode);
        }

        return new Caller(identity, claims);
    }

    /// <summary>The token of an <c>Authorization: Bearer …</c> header value, or null.</summary>
    internal static string? BearerToken(string? header)
    {
        const string Scheme = "Bearer ";
        if (header is null || !header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var token = header[Scheme.Length..].Trim();
        return token.Length == 0 ? null : token;
    }
}
