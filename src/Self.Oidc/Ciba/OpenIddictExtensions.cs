using System.Collections.Immutable;
using Microsoft.AspNetCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using OpenIddict.Server;
using Self.Oidc.Storage;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Self.Oidc.Ciba;

/// <summary>
/// What CIBA adds to OpenIddict through its event model. The backchannel endpoint is registered as a second token
/// endpoint URI and its requests get an internal grant type, so OpenIddict authenticates the client there
/// (client_secret_basic, client_secret_post, private_key_jwt) and checks its permissions exactly as at the token
/// endpoint; discovery gains the CIBA metadata; client assertions are single use.
/// </summary>
internal static class OpenIddictCiba
{
    /// <summary>Marks requests to the backchannel endpoint as backchannel requests (the only grant allowed there).</summary>
    public sealed class MarkBackchannelRequests : IOpenIddictServerHandler<ExtractTokenRequestContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ExtractTokenRequestContext>()
            .UseSingletonHandler<MarkBackchannelRequests>()
            .SetOrder(int.MaxValue - 100_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ExtractTokenRequestContext context)
        {
            var http = context.Transaction.GetHttpRequest();
            var atBackchannel = http is not null && http.Path.Equals(CibaModes.BackchannelPath, StringComparison.OrdinalIgnoreCase);
            if (context.Request is null)
            {
                return ValueTask.CompletedTask;
            }

            if (atBackchannel)
            {
                context.Request.GrantType = CibaModes.BackchannelGrantType;
            }
            else if (context.Request.GrantType == CibaModes.BackchannelGrantType)
            {
                // The internal grant exists only at the backchannel endpoint.
                context.Reject(Errors.UnsupportedGrantType, "The grant type is not supported.");
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Publishes CIBA's metadata (CIBA §4) and hides the internal grant type.</summary>
    public sealed class AddDiscoveryMetadata : IOpenIddictServerHandler<HandleConfigurationRequestContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleConfigurationRequestContext>()
            .UseSingletonHandler<AddDiscoveryMetadata>()
            .SetOrder(int.MaxValue - 100_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(HandleConfigurationRequestContext context)
        {
            context.GrantTypes.Remove(CibaModes.BackchannelGrantType);

            var baseUri = context.BaseUri ?? context.Issuer ?? throw new InvalidOperationException("The base URI is unknown.");
            context.Metadata["backchannel_authentication_endpoint"] = new Uri(baseUri, CibaModes.BackchannelPath.TrimStart('/')).AbsoluteUri;
            context.Metadata["backchannel_token_delivery_modes_supported"] = ImmutableArray.Create<string?>(CibaModes.Poll, CibaModes.Ping);
            context.Metadata["backchannel_user_code_parameter_supported"] = false;
            context.Metadata["backchannel_authentication_request_signing_alg_values_supported"] = ImmutableArray.Create<string?>("RS256", "PS256", "ES256");
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Removes the internal grant type from the discovery document as it is written.</summary>
    public sealed class HideInternalGrant : IOpenIddictServerHandler<ApplyConfigurationResponseContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyConfigurationResponseContext>()
            .UseSingletonHandler<HideInternalGrant>()
            .SetOrder(int.MinValue + 100_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ApplyConfigurationResponseContext context)
        {
            if ((ImmutableArray<string?>?)context.Response[Metadata.GrantTypesSupported] is { } grants)
            {
                context.Response[Metadata.GrantTypesSupported] = ImmutableArray.CreateRange(grants.Where(g => g != CibaModes.BackchannelGrantType));
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Refuses a client assertion (private_key_jwt) whose <c>jti</c> this client already used before its expiry.</summary>
    public sealed class RefuseReplayedAssertions(IDbContextFactory<OidcDbContext> databases, SelfOidcOptions options, ILoggerFactory loggers)
        : IOpenIddictServerHandler<ProcessAuthenticationContext>
    {
        private readonly ILogger _audit = loggers.CreateLogger(Audit.Category);

        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessAuthenticationContext>()
            .UseSingletonHandler<RefuseReplayedAssertions>()
            .SetOrder(OpenIddictServerHandlers.ValidateClientSecret.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(ProcessAuthenticationContext context)
        {
            if (context.ClientAssertionPrincipal is not { } assertion)
            {
                return;
            }

            var clientId = assertion.FindFirst(Claims.Issuer)?.Value ?? context.ClientId ?? "-";
            if (assertion.FindFirst(Claims.JwtId)?.Value is not { Length: > 0 } jti)
            {
                context.Reject(Errors.InvalidClient, "The client assertion has no jti: each assertion needs a unique one.");
                return;
            }

            var now = options.TimeProvider.GetUtcNow().ToUnixTimeSeconds();
            var expires = assertion.FindFirst(Claims.ExpiresAt)?.Value is { } exp && long.TryParse(exp, out var seconds) ? seconds : now + 3600;
            var forgetBefore = now - 300;
            await using var db = await databases.CreateDbContextAsync().ConfigureAwait(false);
            await db.SeenAssertions.Where(a => a.ExpiresAt < forgetBefore).ExecuteDeleteAsync().ConfigureAwait(false);
            db.SeenAssertions.Add(new SeenAssertionEntity { Key = clientId + " " + jti, ExpiresAt = expires });
            try
            {
                await db.SaveChangesAsync().ConfigureAwait(false);
            }
            catch (DbUpdateException)
            {
                Audit.AssertionReplay(_audit, clientId);
                context.Reject(Errors.InvalidClient, "The client assertion was already used (jti replay): make a new one for each request.");
            }
        }
    }

    /// <summary>
    /// Accepts the client assertions (private_key_jwt) that common clients send: OpenIddict 7 takes only those typed
    /// <c>client-authentication+jwt</c> (draft-ietf-oauth-rfc7523bis), while openid-client 6 (oauth4webapi) sends no
    /// <c>typ</c> and assertions made with Microsoft.IdentityModel's defaults (Duende's documented way) say <c>JWT</c>.
    /// Runs just after OpenIddict resolved the validation parameters of a client assertion and widens only the type
    /// check: every other JWT type (access tokens, codes, request objects…) is still refused, and everything else
    /// OpenIddict checks stays — a signature by a key the client registered, <c>iss</c> = <c>sub</c> = the client,
    /// <c>aud</c> exactly the issuer, the lifetime — with the single-use <c>jti</c> of <see cref="RefuseReplayedAssertions"/>.
    /// Off with <see cref="SelfOidcOptions.StrictClientAssertionTypes"/>.
    /// </summary>
    public sealed class AcceptCommonAssertionTypes : IOpenIddictServerHandler<ValidateTokenContext>
    {
        /// <summary>The explicit type of draft-ietf-oauth-rfc7523bis.</summary>
        public const string ClientAuthentication = JsonWebTokenTypes.ClientAuthentication;

        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
            .UseSingletonHandler<AcceptCommonAssertionTypes>()
            .SetOrder(OpenIddictServerHandlers.Protection.ResolveTokenValidationParameters.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ValidateTokenContext context)
        {
            if (context.ValidTokenTypes.Count != 1 || !context.ValidTokenTypes.Contains(TokenTypeIdentifiers.Private.ClientAssertion) ||
                context.TokenValidationParameters is not { } parameters)
            {
                return ValueTask.CompletedTask;
            }

            parameters.ValidTypes = null;
            parameters.TypeValidator = static (type, _, _) => type switch
            {
                // No typ, or the generic one: a JWT that claims no other purpose.
                null or "" or "JWT" or "jwt" or "application/jwt" => ClientAuthentication,
                ClientAuthentication or "application/" + ClientAuthentication => ClientAuthentication,
                _ => throw new Microsoft.IdentityModel.Tokens.SecurityTokenInvalidTypeException($"A JWT typed '{type}' is not a client assertion.") { InvalidType = type },
            };
            return ValueTask.CompletedTask;
        }
    }
}
