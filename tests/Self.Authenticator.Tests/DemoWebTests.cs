using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Self.Cli;
using Spectre.Console;
using static Microsoft.Playwright.Assertions;

namespace Self.Authenticator.Tests;

/// <summary>
/// <c>self demo --web</c> as a newcomer uses it, in headless Chromium: the authenticator's one-time link, a new
/// identity, the demo site's login page, the invitation it offers, the number it shows typed into the authenticator,
/// and the site's protected page signed in as that identity.
/// </summary>
[Collection(AuthenticatorCollection.Name)]
public sealed class DemoWebTests(AuthenticatorFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Demo_web_a_newcomer_creates_an_identity_connects_and_signs_in_with_number_matching()
    {
        var data = fixture.NewFolder("demo-web");
        using var stop = new CancellationTokenSource();
        var output = new LineSignallingWriter();
        var error = new StringWriter();
        var run = RunAsync(stop.Token, output, error, "demo", "--web", "--json", "--no-open", "--data", data);
        if (await Task.WhenAny(output.FirstLine.Task, run).WaitAsync(Wait) == run)
        {
            Assert.Fail($"demo --web ended before it listened (exit {await run}): {error}");
        }

        using var banner = JsonDocument.Parse(await output.FirstLine.Task);
        var site = new Uri(banner.RootElement.GetProperty("site").GetString()!);
        var login = new Uri(banner.RootElement.GetProperty("authenticator_login").GetString()!);
        Assert.Equal("127.0.0.1", site.Host);
        Assert.Equal("127.0.0.1", login.Host);

        // 1. The authenticator: the one-time link, then the first run makes the identity.
        await using var person = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = login.GetLeftPart(UriPartial.Authority) });
        var authenticator = await person.NewPageAsync();
        Assert.Equal(200, (await authenticator.GotoAsync(login.ToString()))!.Status);
        var selfId = await AuthenticatorFixture.CreateIdentityAsync(authenticator);

        // 2. The site: its protected page sends the visitor to the login page; the Self ID is not connected yet.
        await using var visitor = await fixture.Browser.NewContextAsync();
        var page = await visitor.NewPageAsync();
        await page.GotoAsync(site.ToString());
        await Expect(page).ToHaveURLAsync(new Regex("/signin-self\\?state="));
        await page.GetByLabel("Your Self ID").FillAsync(selfId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send to my device" }).ClickAsync();
        var invitation = page.GetByRole(AriaRole.Link, new() { Name = "Open in the Self app" });
        await Expect(invitation).ToBeVisibleAsync();
        var invitationLink = (await invitation.GetAttributeAsync("href"))!;

        // 3. The invitation's link pasted into the authenticator connects the identity to the demo app.
        await authenticator.GotoAsync("/connections");
        await authenticator.GetByLabel("Paste the QR code's text or the link").FillAsync(invitationLink);
        await authenticator.GetByRole(AriaRole.Button, new() { Name = "Read it" }).ClickAsync();
        await authenticator.GetByRole(AriaRole.Button, new() { Name = "Connect", Exact = true }).ClickAsync();
        await Expect(authenticator.Locator(".notice")).ToBeVisibleAsync();
        await authenticator.GotoAsync("/");

        // 4. Send again: the site shows a number, the authenticator asks for it, and only the right one accepts.
        await page.GetByRole(AriaRole.Button, new() { Name = "I have connected: send the request again" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Approve on your device" })).ToBeVisibleAsync(new() { Timeout = (float)Wait.TotalMilliseconds });
        var number = (await page.Locator("#number").TextContentAsync())!.Trim();
        Assert.Matches("^[0-9]{2}$", number);
        var card = authenticator.Locator(".request.open", new() { HasText = "Self demo site" });
        var input = card.GetByLabel("Type the number shown on the sign-in screen");
        await input.WaitForAsync(new() { Timeout = (float)Wait.TotalMilliseconds });
        await input.FillAsync(number);
        await card.Locator("button.accept").ClickAsync();

        // 5. The visitor lands on the protected page, signed in as the identity the authenticator made.
        await Expect(page).ToHaveURLAsync(site.ToString(), new() { Timeout = (float)Wait.TotalMilliseconds });
        await Expect(page.Locator("#signed-in")).ToHaveTextAsync($"Signed in as {selfId}");

        // Signing out needs the page's CSRF token: a bare POST is refused, the page's form works.
        using (var http = new HttpClient())
        {
            var bare = await http.PostAsync(new Uri(site, "/signout"), new FormUrlEncodedContent([]));
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, bare.StatusCode);
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/signin-self\\?state="));

        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(Wait));
    }

    [Fact]
    public async Task Demo_json_or_no_open_without_web_is_a_usage_error()
    {
        var error = new StringWriter();
        Assert.Equal(2, await RunAsync(default, new LineSignallingWriter(), error, "demo", "--json"));
        Assert.Contains("--no-open and --json go with --web", error.ToString());
    }

    private Task<int> RunAsync(CancellationToken cancellationToken, LineSignallingWriter output, StringWriter error, params string[] args)
    {
        var ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(new StringWriter()),
        });
        var home = fixture.NewFolder("demo-home");
        var context = new CliContext(ansi, output, error, name => name == "SELF_HOME" ? home : null, cancellationToken);
        return CliApp.RunAsync(args, context);
    }
}
