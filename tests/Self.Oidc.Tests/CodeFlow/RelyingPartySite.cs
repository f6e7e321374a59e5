using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Self.Oidc.Tests.CodeFlow;

/// <summary>
/// An ordinary ASP.NET Core site that signs users in with the stock OpenID Connect handler (code flow, PKCE) against
/// the provider: it knows nothing of Self.
/// </summary>
public sealed class RelyingPartySite : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Registration _registration;

    private RelyingPartySite(WebApplication app, Registration registration)
    {
        _app = app;
        _registration = registration;
    }

    public Uri Address { get; private set; } = null!;

    public Uri RedirectUri => new(Address, "/signin-oidc");

    /// <summary>Starts the site; <see cref="UseClient"/> must be called before the first sign-in (the client is registered for this site's port).</summary>
    public static async Task<RelyingPartySite> StartAsync(Uri authority)
    {
        var registration = new Registration();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Services.AddRouting();
        builder.Services.AddAuthentication(o =>
            {
                o.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                o.DefaultChallengeScheme = OpenIdConnectDefaults.AuthenticationScheme;
            })
            .AddCookie(o => o.Cookie.Name = "rp_session")
            .AddOpenIdConnect();
        builder.Services.AddOptions<OpenIdConnectOptions>(OpenIdConnectDefaults.AuthenticationScheme).Configure(o =>
        {
            o.Authority = authority.AbsoluteUri;
            o.RequireHttpsMetadata = false;
            o.ClientId = registration.ClientId;
            o.ClientSecret = registration.ClientSecret;
            o.ResponseType = OpenIdConnectResponseType.Code;
            o.ResponseMode = OpenIdConnectResponseMode.Query;
            o.UsePkce = true;
            o.MapInboundClaims = false;
            o.GetClaimsFromUserInfoEndpoint = true;
            o.SaveTokens = true;

            // Plain http on loopback in the test: the correlation and nonce cookies cannot be Secure/SameSite=None.
            o.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.CorrelationCookie.SameSite = SameSiteMode.Lax;
            o.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.NonceCookie.SameSite = SameSiteMode.Lax;
        });
        builder.Services.AddAuthorization();

        var app = builder.Build();
        app.UseAuthentication();
        app.MapGet("/", async (HttpContext context) =>
        {
            if (context.User.Identity?.IsAuthenticated != true)
            {
                await context.ChallengeAsync();
                return Results.Empty;
            }

            var idToken = await context.GetTokenAsync("id_token");
            return Results.Content(
                $"<html><body><p id=\"who\">signed in as {context.User.FindFirst("sub")?.Value}</p><p id=\"amr\">{string.Join(",", context.User.FindAll("amr").Select(c => c.Value))}</p><p id=\"has-id-token\">{idToken is not null}</p></body></html>",
                "text/html");
        });
        await app.StartAsync();
        var site = new RelyingPartySite(app, registration);
        site.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return site;
    }

    public void UseClient(string clientId, string? clientSecret)
    {
        _registration.ClientId = clientId;
        _registration.ClientSecret = clientSecret;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private sealed class Registration
    {
        public string? ClientId { get; set; }

        public string? ClientSecret { get; set; }
    }
}
