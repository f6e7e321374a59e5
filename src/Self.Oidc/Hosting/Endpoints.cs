using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using Self.Oidc.Ciba;
using Self.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Self.Oidc.Hosting;

/// <summary>The endpoints OpenIddict passes through to the provider: authorize, token, userinfo, backchannel. The
/// login page is Self.AspNetCore's scheme (its own paths under /signin-self).</summary>
internal static class Endpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost(CibaModes.BackchannelPath, (HttpContext context, CibaEndpoints ciba) => ciba.BackchannelAsync(context)).DisableAntiforgery();

        app.MapPost("/connect/token", async Task<IResult> (HttpContext context, CibaEndpoints ciba) =>
        {
            var request = context.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("The OpenIddict request is missing.");
            if (request.GrantType == CibaModes.GrantType)
            {
                return await ciba.RedeemAsync(context, request).ConfigureAwait(false);
            }

            if (request.IsAuthorizationCodeGrantType())
            {
                // OpenIddict has checked the code, its client, redirect_uri and PKCE verifier; the principal is the one signed in at authorize.
                var result = await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme).ConfigureAwait(false);
                if (result.Principal is not { } principal)
                {
                    return CibaEndpoints.Error(Errors.InvalidGrant, "The authorization code is no longer valid.");
                }

                return Results.SignIn(principal, authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
            }

            return CibaEndpoints.Error(Errors.UnsupportedGrantType, "The grant type is not supported.");
        }).DisableAntiforgery();

        app.MapMethods("/connect/authorize", [HttpMethods.Get, HttpMethods.Post], async Task<IResult> (HttpContext context, ILoggerFactory loggers) =>
        {
            var request = context.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("The OpenIddict request is missing.");
            var login = await context.AuthenticateAsync(SelfOidcServer.LoginScheme).ConfigureAwait(false);
            var fresh = login.Principal is not null && !request.HasPromptValue(PromptValues.Login);
            if (!fresh)
            {
                if (request.HasPromptValue(PromptValues.None))
                {
                    return CibaEndpoints.Error(Errors.LoginRequired, "The user is not signed in.");
                }

                // prompt=login: sign in again, then come back without the prompt.
                var parameters = context.Request.HasFormContentType ? context.Request.Form.ToList() : context.Request.Query.ToList();
                parameters.RemoveAll(p => p.Key == Parameters.Prompt);
                var returnUrl = context.Request.PathBase + context.Request.Path + QueryString.Create(parameters);
                // The shared login page (Self.AspNetCore): it signs the browser in to the provider's cookie, then comes back here.
                return Results.Challenge(new AuthenticationProperties { RedirectUri = returnUrl }, [SelfAuthenticationDefaults.AuthenticationScheme]);
            }

            var user = login.Principal!;
            var selfId = user.FindFirst(SelfClaimTypes.Subject)!.Value;
            var authTime = long.Parse(user.FindFirst(SelfClaimTypes.AuthTime)!.Value, System.Globalization.CultureInfo.InvariantCulture);
            var principal = Principals.ForUser(
                selfId, DateTimeOffset.FromUnixTimeSeconds(authTime), request.GetScopes(), Principals.LoginAmr(user.FindFirst(SelfClaimTypes.Method)?.Value));
            Audit.Authorization(loggers.CreateLogger(Audit.Category), request.ClientId ?? "-", selfId, "code_issued");
            return Results.SignIn(principal, authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }).DisableAntiforgery();

        app.MapMethods("/connect/userinfo", [HttpMethods.Get, HttpMethods.Post], async Task<IResult> (HttpContext context) =>
        {
            var result = await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme).ConfigureAwait(false);
            if (result.Principal?.FindFirst(Claims.Subject)?.Value is not { } sub)
            {
                return Results.Challenge(authenticationSchemes: [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
            }

            return Results.Json(new Dictionary<string, object> { [Claims.Subject] = sub });
        }).DisableAntiforgery();
    }
}
