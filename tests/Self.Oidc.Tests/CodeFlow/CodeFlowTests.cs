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
    public async Task StockOpenIdConnectHandler_InChromium_SignsInWithTheDeviceAccepting()
    {
        await using var site = await RelyingPartySite.StartAsync(fixture.Issuer);
        var client = await fixture.AddClientAsync(new OidcClientRegistration { Name = "Browser test site", RedirectUris = [site.RedirectUri] });
        site.UseClient(client.ClientId, client.ClientSecret);
        await using var device = await fixture.ConnectedUserAsync(ConsentPolicies.AlwaysAccept);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox"],
        });
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout((float)Waiting.Patience.TotalMilliseconds);

        await page.GotoAsync(site.Address.AbsoluteUri);
        Assert.StartsWith(new Uri(fixture.Issuer, "/login").AbsoluteUri, page.Url, StringComparison.Ordinal);

        await page.FillAsync("#selfid", device.SelfId);
        await page.ClickAsync("#signin");
        // A polling assertion rather than WaitForURL, which can miss a navigation that lands before its listener does.
        await Assertions.Expect(page).ToHaveURLAsync(
            new Regex("^" + Regex.Escape(site.Address.AbsoluteUri)),
            new() { Timeout = (float)Waiting.Patience.TotalMilliseconds });

        Assert.Equal("signed in as " + device.SelfId, await page.InnerTextAsync("#who"));
        Assert.Equal("swk,user", await page.InnerTextAsync("#amr"));
        Assert.Equal("True", await page.InnerTextAsync("#has-id-token"));
    }

    [Fact]
    public async Task LoginPage_UserNotConnected_SaysSoAndSignsNobodyIn()
    {
        await using var device = await fixture.RegisterUserAsync();
        using var browserless = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() });
        var form = await browserless.GetStringAsync(new Uri(fixture.Issuer, "/login?ReturnUrl=%2F"));
        var token = System.Text.RegularExpressions.Regex.Match(form, "type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]+)\"");
        Assert.True(token.Success, form);
        using var posted = await browserless.PostAsync(
            new Uri(fixture.Issuer, "/login?ReturnUrl=%2F"),
            new FormUrlEncodedContent(new Dictionary<string, string> { [WebUtility.HtmlDecode(token.Groups[1].Value)] = WebUtility.HtmlDecode(token.Groups[2].Value), ["selfid"] = device.SelfId }));
        var page = await posted.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        Assert.Contains("not connected", page);
        Assert.Contains(fixture.Provider.AppId, page);
        Assert.DoesNotContain(posted.Headers, h => h.Key == "Set-Cookie" && h.Value.Any(v => v.StartsWith("self_oidc_login", StringComparison.Ordinal)));
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
        Assert.Equal("/login", response.Headers.Location!.AbsolutePath);
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

    /// <summary>Refused with invalid_request naming <paramref name="parameter"/>, and never sent to the login page.</summary>
    private static async Task AssertRefusedAsync(HttpResponseMessage response, string parameter)
    {
        var text = response.Headers.Location is { } location ? Uri.UnescapeDataString(location.Query) : await response.Content.ReadAsStringAsync();
        Assert.NotEqual("/login", response.Headers.Location?.AbsolutePath);
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
