using System.Globalization;
using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Self.Oidc.Hosting;
using Self.Protocol.Identifiers;
using Self.Sdk.Authentication;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Self.Oidc.Login;

/// <summary>
/// The provider's own sign-in page for the authorization code flow: the user types their Self ID, the provider asks
/// their device, and the page waits (long-polling) for the answer, then signs the browser in and returns to
/// <c>/connect/authorize</c>. The pending request is bound to the browser by a cookie holding its conversation id.
/// </summary>
internal sealed class LoginPage(SelfGateway gateway, IAntiforgery antiforgery, SelfOidcOptions options, ILoggerFactory loggers)
{
    public const string Path = "/login";
    private const string WaitPath = "/login/wait";
    private const string PendingCookie = "self_oidc_pending";
    private static readonly TimeSpan LongPoll = TimeSpan.FromSeconds(10);
    private readonly ILogger _audit = loggers.CreateLogger(Audit.Category);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet(Path, (HttpContext context, LoginPage page) => page.Form(context, null));
        app.MapPost(Path, (HttpContext context, LoginPage page) => page.StartAsync(context)).DisableAntiforgery();
        app.MapGet(WaitPath, (HttpContext context, LoginPage page) => page.WaitAsync(context));
    }

    private IResult Form(HttpContext context, string? error)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var returnUrl = LocalReturnUrl(context.Request.Query["ReturnUrl"]);
        var message = error is null ? "" : $"<p class=\"error\" role=\"alert\">{Encode(error)}</p>";
        return Html($"""
            <h1>Sign in with Self</h1>
            <p>Enter your Self ID; then approve the request on your device.</p>
            {message}
            <form method="post" action="{Path}?ReturnUrl={Uri.EscapeDataString(returnUrl)}">
              <input type="hidden" name="{Encode(tokens.FormFieldName)}" value="{Encode(tokens.RequestToken!)}">
              <label>Self ID <input id="selfid" name="selfid" inputmode="numeric" autocomplete="username" required></label>
              <button id="signin" type="submit">Sign in</button>
            </form>
            """);
    }

    private async Task<IResult> StartAsync(HttpContext context)
    {
        if (!await antiforgery.IsRequestValidAsync(context).ConfigureAwait(false))
        {
            return Results.BadRequest("The form expired; reload the page.");
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var selfId = form["selfid"].ToString().Trim();
        if (!SelfIds.IsUserId(selfId))
        {
            return Form(context, $"'{selfId}' is not a Self ID: 10 or 11 digits, such as 1112223334.");
        }

        var cid = Guid.NewGuid().ToString();
        AuthenticationResponse? failure;
        try
        {
            failure = await gateway.SendAsync(selfId, cid, options.DefaultRequestExpiry, null, "Sign in", forLogin: true, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is Protocol.SelfException or HttpRequestException or TimeoutException)
        {
            failure = new AuthenticationResponse(AuthenticationStatus.Errored, selfId, null, cid, ex.Message);
        }

        if (failure is not null)
        {
            Audit.Login(_audit, selfId, "refused");
            return Form(context, failure.Status == AuthenticationStatus.Unauthorized
                ? $"You have not connected to this provider's Self app ({gateway.Client.Options.AppId}) yet: connect to it in your Self app first."
                : failure.Reason ?? "The request could not be sent.");
        }

        context.Response.Cookies.Append(PendingCookie, cid, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Lax, Path = Path });
        return Results.Redirect(WaitPath + "?ReturnUrl=" + Uri.EscapeDataString(LocalReturnUrl(context.Request.Query["ReturnUrl"])));
    }

    private async Task<IResult> WaitAsync(HttpContext context)
    {
        var returnUrl = LocalReturnUrl(context.Request.Query["ReturnUrl"]);
        if (context.Request.Cookies[PendingCookie] is not { } cid || gateway.FindLogin(cid) is not { } answer)
        {
            return Html($"<h1>Sign in with Self</h1><p id=\"status\">No sign-in is in progress.</p><p><a href=\"{Path}?ReturnUrl={Uri.EscapeDataString(returnUrl)}\">Start again</a></p>");
        }

        try
        {
            await answer.WaitAsync(LongPoll, context.RequestAborted).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return Html(
                "<h1>Sign in with Self</h1><p id=\"status\">Approve the request on your Self device…</p>",
                refresh: WaitPath + "?ReturnUrl=" + Uri.EscapeDataString(returnUrl));
        }

        gateway.ForgetLogin(cid);
        context.Response.Cookies.Delete(PendingCookie, new CookieOptions { Path = Path });
        var response = answer.Result;
        Audit.Login(_audit, response.SelfId, response.Status.ToString().ToLowerInvariant());
        if (!response.Accepted)
        {
            var why = response.Status == AuthenticationStatus.Rejected ? "You declined the sign-in on your device." : "The sign-in request ended: " + response.Status + ".";
            return Html($"<h1>Sign in with Self</h1><p id=\"status\">{Encode(why)}</p><p><a href=\"{Path}?ReturnUrl={Uri.EscapeDataString(returnUrl)}\">Try again</a></p>");
        }

        var identity = new ClaimsIdentity(SelfOidcServer.LoginScheme, Claims.Subject, Claims.Role);
        identity.AddClaim(new Claim(Claims.Subject, response.SelfId));
        identity.AddClaim(new Claim(Claims.AuthenticationTime, options.TimeProvider.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)));
        await context.SignInAsync(SelfOidcServer.LoginScheme, new ClaimsPrincipal(identity)).ConfigureAwait(false);
        return Results.Redirect(returnUrl);
    }

    /// <summary>Only paths on this server: anything else would make the page an open redirector.</summary>
    private static string LocalReturnUrl(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) ? url : "/";

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    private static IResult Html(string body, string? refresh = null)
    {
        var meta = refresh is null ? "" : $"<meta http-equiv=\"refresh\" content=\"0;url={Encode(refresh)}\">";
        return Results.Content(
            $"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">{meta}<title>Sign in with Self</title></head><body>{body}</body></html>",
            "text/html; charset=utf-8");
    }
}
