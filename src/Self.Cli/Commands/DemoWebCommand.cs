using System.Net;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Self.AspNetCore;
using Self.Authenticator;
using Self.Cli.Home;
using Self.Cli.Terminal;
using Self.Network;
using Self.Sdk;
using Spectre.Console;

namespace Self.Cli.Commands;

/// <summary>
/// <c>self demo --web</c>: a private network, a small web site that signs people in with Self (the same lines as
/// samples/SignIn) and the web authenticator, started together on 127.0.0.1 so that a newcomer clicks through a real
/// sign-in in a browser: create an identity in the authenticator, open the site, connect, type the number, accept.
/// </summary>
internal static class DemoWebCommand
{
    private const string SiteName = "Self demo site";

    public static async Task<int> RunInAsync(CliContext context, string root, bool json, bool noOpen, CancellationToken cancellationToken)
    {
        var console = context.Console;
        var home = new SelfHome(Path.Combine(root, "home"));
        await using var server = await DemoCommand.StartNetworkAsync(context, root, cancellationToken).ConfigureAwait(false);

        var app = await DemoAppAsync(context, home, server, cancellationToken).ConfigureAwait(false);
        await using var site = await StartSiteAsync(context, home, app, server.BaseAddress, Path.Combine(root, "site"), cancellationToken).ConfigureAwait(false);
        var authenticator = await AuthenticatorCommand.StartAsync(
            new AuthenticatorOptions
            {
                ServerUrl = server.BaseAddress,
                DataDirectory = Path.Combine(root, "authenticator"),
                TimeProvider = context.TimeProvider,
                LoggerFactory = context.LoggerFactory,
            },
            cancellationToken).ConfigureAwait(false);
        await using (authenticator.ConfigureAwait(false))
        {
            var siteAddress = SiteAddress(site);
            var login = authenticator.LoginLink.ToString();
            if (json)
            {
                JsonOutput.Write(context.Output, new DemoWebOutput(server.BaseAddress.AbsoluteUri, siteAddress.AbsoluteUri, login, app.AppId), OutputJson.Default.DemoWebOutput);
            }
            else
            {
                console.Write(new Rule("[bold]Self demo in your browser[/]").LeftJustified());
                Say(console, $"Network: {server.BaseAddress}");
                Say(console, $"Site of the app \"{app.Name}\": {siteAddress}");
                console.MarkupLine("[bold]1.[/] Open the web authenticator (a one-time link) and create your identity:");
                await context.Output.WriteLineAsync(login).ConfigureAwait(false);
                console.MarkupLine("[bold]2.[/] Open the site and sign in with the Self ID the authenticator shows:");
                await context.Output.WriteLineAsync(siteAddress.ToString()).ConfigureAwait(false);
                console.MarkupLine("   Not connected yet? Copy the page's \"Open in the Self app\" link into the");
                console.MarkupLine("   authenticator's Connections, then send again. Type the number the site");
                console.MarkupLine("   shows into the authenticator, and accept.");
                await context.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (!noOpen && AuthenticatorCommand.TryOpenBrowser(login) && AuthenticatorCommand.TryOpenBrowser(siteAddress.ToString()))
                {
                    console.MarkupLine("[grey]Opened both in your browser.[/]");
                }

                console.MarkupLine("[grey]Ctrl-C to stop.[/]");
            }

            await Waiting.UntilStoppedAsync(cancellationToken).ConfigureAwait(false);
        }

        return ExitCodes.Ok;
    }

    /// <summary>The app of an earlier run on the same <c>--data</c>, or a new one.</summary>
    private static async Task<AppProfile> DemoAppAsync(CliContext context, SelfHome home, SelfNetworkServer server, CancellationToken cancellationToken)
    {
        try
        {
            return home.LoadApp(appId: null);
        }
        catch (CliException)
        {
            // No app yet in this folder: create it below.
        }

        return await DemoCommand.CreateAppAsync(context, home, server, SiteName, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The site: a protected home page behind the app's cookie, and Sign in with Self as its challenge.</summary>
    private static async Task<WebApplication> StartSiteAsync(
        CliContext context, SelfHome home, AppProfile app, Uri network, string folder, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = SiteName });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(context.LoggerFactory);
        builder.Services.AddSingleton(context.TimeProvider);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, 0);
        });
        builder.Services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(folder, "keys"))).SetApplicationName(SiteName);
        builder.Services.AddSelfClient(new SelfClientOptions
        {
            AppId = app.AppId,
            AppSecret = app.Secret,
            StorageKey = app.StorageKey,
            StorageDirectory = home.AppStorageDirectory(app.AppId),
            ApiUrl = network,
            LoggerFactory = context.LoggerFactory,
            TimeProvider = context.TimeProvider,
        });
        builder.Services.AddAuthentication(o => (o.DefaultScheme, o.DefaultChallengeScheme) = (CookieAuthenticationDefaults.AuthenticationScheme, SelfAuthenticationDefaults.AuthenticationScheme))
            .AddCookie()
            .AddSelf(o =>
            {
                o.SiteName = SiteName;
                o.Description = "Sign in to the " + SiteName;
            });
        builder.Services.AddAuthorization();
        builder.Services.AddAntiforgery();

        var site = builder.Build();
        site.UseAuthentication();
        site.UseAuthorization();
        site.MapGet("/", (HttpContext http, IAntiforgery antiforgery) => Results.Content(HomePage(http.User, antiforgery.GetAndStoreTokens(http)), "text/html; charset=utf-8"))
            .RequireAuthorization();
        site.MapPost("/signout", async (HttpContext http, IAntiforgery antiforgery) =>
        {
            if (!await antiforgery.IsRequestValidAsync(http).ConfigureAwait(false))
            {
                return Results.BadRequest("The form's CSRF token is missing or wrong: reload the page and sign out again.");
            }

            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme).ConfigureAwait(false);
            return Results.Redirect("/");
        });
        try
        {
            await site.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await site.DisposeAsync().ConfigureAwait(false);
            throw new CliException(ex.Message);
        }

        SelfHome.Secure(home.AppStorageDirectory(app.AppId));
        return site;
    }

    private static Uri SiteAddress(WebApplication site) =>
        new(site.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");

    /// <summary>The protected page: who signed in, with which device and when; a sign-out form with its CSRF token.</summary>
    private static string HomePage(ClaimsPrincipal user, AntiforgeryTokenSet tokens)
    {
        var html = HtmlEncoder.Default;
        var selfId = user.FindFirstValue(ClaimTypes.NameIdentifier) ?? "";
        var device = user.FindFirstValue(SelfClaimTypes.Device) ?? "";
        var authTime = long.TryParse(user.FindFirstValue(SelfClaimTypes.AuthTime), out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds).ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture)
            : "";
        var b = new StringBuilder();
        b.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(html.Encode(SiteName)).Append("</title><style>")
            .Append("body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}")
            .Append("h1{font-size:1.6rem}dl{display:grid;grid-template-columns:auto 1fr;gap:.4rem 1rem}dt{color:#57606a}")
            .Append("button{font:inherit;padding:.5rem 1rem;border-radius:.4rem;border:1px solid #8c959f;background:#f6f8fa}")
            .Append("</style></head><body><main>")
            .Append("<h1 id=\"signed-in\">Signed in as ").Append(html.Encode(selfId)).Append("</h1>")
            .Append("<p>You approved this sign-in on your own device; the site holds the answer your device signed.</p><dl>")
            .Append("<dt>Self ID</dt><dd>").Append(html.Encode(selfId)).Append("</dd>")
            .Append("<dt>Device</dt><dd>").Append(html.Encode(device)).Append("</dd>")
            .Append("<dt>Approved at</dt><dd>").Append(html.Encode(authTime)).Append("</dd></dl>")
            .Append("<form method=\"post\" action=\"/signout\"><input type=\"hidden\" name=\"").Append(html.Encode(tokens.FormFieldName))
            .Append("\" value=\"").Append(html.Encode(tokens.RequestToken ?? "")).Append("\"><button type=\"submit\">Sign out</button></form>")
            .Append("</main></body></html>");
        return b.ToString();
    }

    private static void Say(IAnsiConsole console, string text) => DemoCommand.Say(console, text);
}
