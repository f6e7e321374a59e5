using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Playwright;
using Self.Device;
using Self.Oidc.Clients;
using Self.Oidc.Tests.Infrastructure;

namespace Self.Oidc.Tests.CodeFlow;

[Collection(OidcCollection.Name)]
public sealed class CodeFlowTests(OidcFixture fixture)
{
    [Fact]
    public async Task StockOpenIdConnectHandler_InChromium_DeviceTypesTheNumberShown_SiteSignedIn()
    {
        await using var site = await StartSiteAsync();
        await using var device = await fixture.ConnectedUserAsync();
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();

        await page.GotoAsync(site.Address.AbsoluteUri);
        // The provider's /connect/authorize sent the browser to the shared login page (Self.AspNetCore's scheme).
        Assert.StartsWith(new Uri(fixture.Issuer, "/signin-self?state=").AbsoluteUri, page.Url, StringComparison.Ordinal);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in to Test OpenID Provider" })).ToBeVisibleAsync();
        await page.GetByLabel("Your Self ID").FillAsync(device.SelfId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send to my device" }).ClickAsync();

        var request = await device.NextRequestAsync();
        Assert.Equal(fixture.Provider.AppId, request.AppId);
        Assert.True(request.RequiresNumber);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Approve on your device" })).ToBeVisibleAsync();
        var number = await page.Locator("#number").TextContentAsync();
        Assert.Matches("^[0-9]{2}$", number);
        await request.AcceptAsync(number!);

        await SignedInAsync(page, site, device.SelfId);
        // The device signed (swk) after the user approved on it (user), the page and the device tied by the number (mca).
        Assert.Equal("swk,user,mca", await page.InnerTextAsync("#amr"));
        Assert.Equal("True", await page.InnerTextAsync("#has-id-token"));
    }

    [Fact]
    public async Task LoginPage_WrongNumberTyped_DeclinedAndTheSiteIsNotSignedIn()
    {
        await using var site = await StartSiteAsync();
        await using var device = await fixture.ConnectedUserAsync();
        await using var browser = await Browser.LaunchAsync();
        var (context, page) = await SendFromSiteAsync(browser, site, device.SelfId);
        var request = await device.NextRequestAsync();
        var shown = await page.Locator("#number").TextContentAsync();
        var wrong = shown == "00" ? "01" : "00";

        for (var attempt = 0; attempt < NumberMismatchException.MaxAttempts; attempt++)
        {
            await Assert.ThrowsAsync<NumberMismatchException>(() => request.AcceptAsync(wrong));
        }

        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("declined on your device", new() { Timeout = Patience });
        Assert.Equal(RequestAnswer.Rejected, request.Answer);
        Assert.StartsWith(new Uri(fixture.Issuer, "/signin-self").AbsoluteUri, page.Url, StringComparison.Ordinal);
        var cookies = await context.CookiesAsync();
        Assert.DoesNotContain(cookies, c => c.Name is "self_oidc_login" or "rp_session");

        // The site still asks for a sign-in: back to the provider's login page.
        await page.GotoAsync(site.Address.AbsoluteUri);
        Assert.StartsWith(new Uri(fixture.Issuer, "/signin-self?state=").AbsoluteUri, page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoginPage_UserNotConnected_ShowsTheProvidersInvitation_ConnectThenSignIn()
    {
        await using var site = await StartSiteAsync();
        await using var device = await fixture.RegisterUserAsync();
        await using var browser = await Browser.LaunchAsync();
        var (context, page) = await SendFromSiteAsync(browser, site, device.SelfId);

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Connect to Test OpenID Provider first" })).ToBeVisibleAsync();
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name is "self_oidc_login" or "rp_session");
        var invitation = page.GetByRole(AriaRole.Img, new() { Name = "QR code to connect the Self app to this site" });
        await device.AcceptInvitationAsync((await invitation.GetAttributeAsync("data-invitation-payload"))!);
        await page.GetByRole(AriaRole.Button, new() { Name = "I have connected: send the request again" }).ClickAsync();

        // The invitation was the provider's app: the one identity that asks for CIBA and for the login page.
        var request = await device.NextRequestAsync();
        Assert.Equal(fixture.Provider.AppId, request.AppId);
        await request.AcceptAsync((await page.Locator("#number").TextContentAsync())!);
        await SignedInAsync(page, site, device.SelfId);
    }

    [Fact]
    public async Task Authorize_PublicClientWithoutPkce_Refused()
    {
        var redirect = new Uri("http://127.0.0.1:9/cb");
        var client = await fixture.AddClientAsync(new OidcClientRegistration { Name = "SPA", RedirectUris = [redirect], Public = true });
        Assert.Null(client.ClientSecret);

        using var response = await AuthorizeAsync(client.ClientId, redirect, challenge: null);
        await AssertRefusedAsync(response, "code_challenge");
    }

    [Fact]
    public async Task Authorize_PlainPkce_Refused()
    {
        var redirect = new Uri("http://127.0.0.1:9/cb");
        var client = await fixture.AddClientAsync(new OidcClientRegistration { Name = "SPA", RedirectUris = [redirect], Public = true });
        using var response = await AuthorizeAsync(client.ClientId, redirect, challenge: "plain-verifier-plain-verifier-plain-verifier-123", method: "plain");
        await AssertRefusedAsync(response, "code_challenge_method");
    }

    [Fact]
    public async Task Authorize_PublicClientWithS256_GoesToTheLoginPage()
    {
        var redirect = new Uri("http://127.0.0.1:9/cb");
        var client = await fixture.AddClientAsync(new OidcClientRegistration { Name = "SPA", RedirectUris = [redirect], Public = true });
        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        using var response = await AuthorizeAsync(client.ClientId, redirect, Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/signin-self", new Uri(fixture.Issuer, response.Headers.Location!).AbsolutePath);
    }

    [Fact]
    public async Task Authorize_RedirectUriNotExactlyRegistered_RefusedWithoutRedirecting()
    {
        var redirect = new Uri("https://rp.example/cb");
        var client = await fixture.AddClientAsync(new OidcClientRegistration { Name = "web", RedirectUris = [redirect] });
        foreach (var wrong in new[] { "https://rp.example/cb/", "https://rp.example/cb?x=1", "https://evil.example/cb", "https://rp.example/CB" })
        {
            using var response = await AuthorizeAsync(client.ClientId, new Uri(wrong), challenge: null);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Null(response.Headers.Location);
        }
    }

    private static readonly float Patience = (float)Waiting.Patience.TotalMilliseconds;

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private async Task<RelyingPartySite> StartSiteAsync()
    {
        var site = await RelyingPartySite.StartAsync(fixture.Issuer);
        var client = await fixture.AddClientAsync(new OidcClientRegistration { Name = "Browser test site", RedirectUris = [site.RedirectUri] });
        site.UseClient(client.ClientId, client.ClientSecret);
        return site;
    }

    /// <summary>The stock handler's site shows who is signed in (a polling assertion: WaitForURL can miss a navigation).</summary>
    /// <summary>Opens the site in a fresh context (it sends the browser to the provider's login page), enters the Self ID and sends.</summary>
    private static async Task<(IBrowserContext Context, IPage Page)> SendFromSiteAsync(Browser browser, RelyingPartySite site, string selfId)
    {
        var context = await browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(site.Address.AbsoluteUri);
        await page.GetByLabel("Your Self ID").FillAsync(selfId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send to my device" }).ClickAsync();
        return (context, page);
    }

    private static async Task SignedInAsync(IPage page, RelyingPartySite site, string selfId)
    {
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("^" + Regex.Escape(site.Address.AbsoluteUri)), new() { Timeout = Patience });
        await Expect(page.Locator("#who")).ToHaveTextAsync("signed in as " + selfId, new() { Timeout = Patience });
    }

    /// <summary>Refused with invalid_request naming <paramref name="parameter"/>, and never sent to the login page.</summary>
    private static async Task AssertRefusedAsync(HttpResponseMessage response, string parameter)
    {
        var text = response.Headers.Location is { } location ? Uri.UnescapeDataString(location.Query) : await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("/signin-self", response.Headers.Location?.OriginalString ?? "", StringComparison.Ordinal);
        Assert.Contains("invalid_request", text);
        Assert.Contains(parameter, text);
    }

    private async Task<HttpResponseMessage> AuthorizeAsync(string clientId, Uri redirect, string? challenge, string method = "S256")
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var query = new Dictionary<string, string>
        {
            ["client_id"] = clientId,
            ["redirect_uri"] = redirect.OriginalString,
            ["response_type"] = "code",
            ["scope"] = "openid",
            ["state"] = "st-" + Guid.NewGuid().ToString("N"),
            ["nonce"] = "n-" + Guid.NewGuid().ToString("N"),
        };
        if (challenge is not null)
        {
            query["code_challenge"] = challenge;
            query["code_challenge_method"] = method;
        }

        var uri = new Uri(fixture.Issuer, "/connect/authorize?" + string.Join('&', query.Select(p => p.Key + "=" + Uri.EscapeDataString(p.Value))));
        return await http.GetAsync(uri);
    }
}
