using System.Net;
using Microsoft.Playwright;
using Self.Sdk.Authentication;

namespace Self.Authenticator.Tests;

/// <summary>The web authenticator driven in a real headless chromium, against a real network and a real app.</summary>
[Collection(AuthenticatorCollection.Name)]
public sealed class AuthenticatorPageTests(AuthenticatorFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Login_link_works_once_and_nothing_is_served_without_it()
    {
        var authenticator = fixture.Authenticator;
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = authenticator.BaseAddress };

        // Without the session cookie: neither the page, nor the event stream, nor a form post.
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/events")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/history")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync("/requests/x/accept", new StringContent(""))).StatusCode);

        // Static files and the manifest are public.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/static/app.js")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/manifest.webmanifest")).StatusCode);
        Assert.Equal("image/png", (await http.GetAsync("/icon-192.png")).Content.Headers.ContentType?.MediaType);

        // Another name for 127.0.0.1 (DNS rebinding) is refused before anything else.
        using var rebound = new HttpRequestMessage(HttpMethod.Get, "/login?secret=x");
        rebound.Headers.Host = "evil.example:" + authenticator.BaseAddress.Port;
        Assert.Equal(HttpStatusCode.MisdirectedRequest, (await http.SendAsync(rebound)).StatusCode);

        // A wrong secret is refused.
        var link = authenticator.NewLoginLink();
        var wrong = await http.GetAsync("/login?secret=" + new string('A', 43));
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);

        // The right one gives an HttpOnly, SameSite=Strict cookie once.
        var context = await fixture.Browser.NewContextAsync(new() { BaseURL = authenticator.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        var first = await page.GotoAsync(link.ToString());
        Assert.Equal(200, first!.Status);
        await page.GetByRole(AriaRole.Heading, new() { Name = "Requests" }).WaitForAsync();
        var cookie = Assert.Single(await context.CookiesAsync());
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.Equal(0, await page.EvaluateAsync<int>("document.cookie.length"));

        // Reused, in another browser: refused, and that browser gets nothing.
        var other = await fixture.Browser.NewContextAsync(new() { BaseURL = authenticator.BaseAddress.ToString() });
        var otherPage = await other.NewPageAsync();
        var reused = await otherPage.GotoAsync(link.ToString());
        Assert.Equal(403, reused!.Status);
        Assert.Contains("already used", await otherPage.ContentAsync(), StringComparison.Ordinal);
        Assert.Equal(401, (await otherPage.GotoAsync("/"))!.Status);
        await other.CloseAsync();
        await context.CloseAsync();
    }

    [Fact]
    public async Task Posts_without_the_sessions_csrf_token_are_refused()
    {
        var page = await fixture.LoggedInPageAsync(fixture.Authenticator);
        var (_, client) = await fixture.StartAppAsync("CSRF Check");
        await using var _ = client;
        await AuthenticatorFixture.ConnectAsync(page, client);
        var cid = await client.Authentication.SendAsync(fixture.SelfId, new AuthenticationRequestOptions { Description = "csrf" });
        var card = page.Locator(".request.open", new() { HasText = "CSRF Check" });
        await page.GotoAsync("/");
        await card.WaitForAsync();
        var id = await card.GetAttributeAsync("data-id");

        // The session cookie alone (what a cross-site form would carry, were it sent at all) is not enough.
        var status = await page.EvaluateAsync<int>(
            "async (id) => (await fetch('/requests/' + id + '/accept', { method: 'POST', credentials: 'same-origin' })).status", id);
        Assert.Equal(403, status);
        var wrong = await page.EvaluateAsync<int>(
            "async (id) => (await fetch('/requests/' + id + '/accept', { method: 'POST', headers: { 'X-CSRF-Token': 'wrong' } })).status", id);
        Assert.Equal(403, wrong);
        var form = await page.EvaluateAsync<int>(
            "async (id) => { const f = new FormData(); f.append('csrf', 'wrong'); return (await fetch('/requests/' + id + '/accept', { method: 'POST', body: f })).status; }", id);
        Assert.Equal(403, form);

        // Still open: the refused posts answered nothing.
        await card.Locator("button.reject").ClickAsync();
        var response = await client.Authentication.WaitForResponseAsync(cid).WaitAsync(Wait);
        Assert.Equal(AuthenticationStatus.Rejected, response.Status);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Connect_from_an_invitation_then_accept_a_request_that_arrives_live()
    {
        var page = await fixture.LoggedInPageAsync(fixture.Authenticator);
        var (app, client) = await fixture.StartAppAsync("Example Shop");
        await using var _ = client;
        await AuthenticatorFixture.ConnectAsync(page, client);

        var row = page.Locator("li.connection", new() { HasText = app.AppId });
        await Assertions.Expect(row).ToContainTextAsync("Example Shop");
        await Assertions.Expect(row.Locator(".since")).ToContainTextAsync("connected since");
        await AuthenticatorFixture.ScreenshotAsync(page, "connections");

        // The page is open before the request exists: it must arrive without a reload.
        await page.GotoAsync("/");
        await page.WaitForFunctionAsync("document.body.dataset.live === 'yes'");
        var cid = await client.Authentication.SendAsync(fixture.SelfId, new AuthenticationRequestOptions
        {
            Description = "Sign in to Example Shop",
            BindingMessage = "Order #4711",
            Expiry = TimeSpan.FromMinutes(2),
        });
        var card = page.Locator(".request.open", new() { HasText = "Order #4711" });
        await card.WaitForAsync();
        await Assertions.Expect(card.Locator(".app")).ToHaveTextAsync("Example Shop");
        await Assertions.Expect(card.Locator(".description")).ToHaveTextAsync("Sign in to Example Shop");
        await Assertions.Expect(card.Locator(".countdown")).ToContainTextAsync("left");
        await AuthenticatorFixture.ScreenshotAsync(page, "request");

        await card.Locator("button.accept").ClickAsync();
        var response = await client.Authentication.WaitForResponseAsync(cid).WaitAsync(Wait);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
        Assert.Equal(fixture.SelfId, response.SelfId);
        await Assertions.Expect(page.Locator(".request.accepted", new() { HasText = "Order #4711" })).ToContainTextAsync("Accepted");

        // The history (in the encrypted local store) has it.
        await page.GotoAsync("/history");
        var entry = page.Locator("#history tr", new() { HasText = "Order #4711" });
        await Assertions.Expect(entry).ToContainTextAsync("accepted");
        await Assertions.Expect(entry).ToContainTextAsync("Example Shop");
        await AuthenticatorFixture.ScreenshotAsync(page, "history");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Reject_is_sent_and_disconnect_stops_the_app()
    {
        var page = await fixture.LoggedInPageAsync(fixture.Authenticator);
        var (app, client) = await fixture.StartAppAsync("Rejected App");
        await using var _ = client;
        await AuthenticatorFixture.ConnectAsync(page, client);
        await page.GotoAsync("/");
        var cid = await client.Authentication.SendAsync(fixture.SelfId, new AuthenticationRequestOptions { Description = "Transfer 500 EUR" });
        var card = page.Locator(".request", new() { HasText = "Transfer 500 EUR" });
        await card.Locator("button.reject").ClickAsync();
        Assert.Equal(AuthenticationStatus.Rejected, (await client.Authentication.WaitForResponseAsync(cid).WaitAsync(Wait)).Status);
        await Assertions.Expect(card).ToContainTextAsync("Rejected");

        await page.GotoAsync("/connections");
        await page.Locator("li.connection", new() { HasText = app.AppId }).GetByRole(AriaRole.Button, new() { Name = "Disconnect" }).ClickAsync();
        await Assertions.Expect(page.Locator(".notice")).ToContainTextAsync("Disconnected");
        await Assertions.Expect(page.Locator("li.connection", new() { HasText = app.AppId })).ToHaveCountAsync(0);
        await Assert.ThrowsAsync<Self.Sdk.NotConnectedException>(() => client.Authentication.RequestAsync(fixture.SelfId));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Pasting_an_app_id_connects_to_that_app()
    {
        var page = await fixture.LoggedInPageAsync(fixture.Authenticator);
        var (app, client) = await fixture.StartAppAsync("Pasted Id App");
        await using var _ = client;
        await page.GotoAsync("/connections");
        await page.GetByLabel("Paste the QR code's text or the link").FillAsync(app.AppId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Read it" }).ClickAsync();
        await Assertions.Expect(page.Locator(".notice")).ToContainTextAsync("Connected");
        await Assertions.Expect(page.Locator("li.connection", new() { HasText = app.AppId })).ToHaveCountAsync(1);

        await page.GotoAsync("/");
        var cid = await client.Authentication.SendAsync(fixture.SelfId, new AuthenticationRequestOptions { Description = "After pasting the id" });
        await page.Locator(".request.open", new() { HasText = "After pasting the id" }).Locator("button.accept").ClickAsync();
        Assert.Equal(AuthenticationStatus.Accepted, (await client.Authentication.WaitForResponseAsync(cid).WaitAsync(Wait)).Status);

        // An id no app has: refused with the device's sentence.
        await page.GotoAsync("/connections");
        await page.GetByLabel("Paste the QR code's text or the link").FillAsync(new string('a', 32));
        await page.GetByRole(AriaRole.Button, new() { Name = "Read it" }).ClickAsync();
        await Assertions.Expect(page.Locator("p.error[role=alert]")).ToContainTextAsync("No app with id");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_expired_request_says_so_and_cannot_be_answered()
    {
        var page = await fixture.LoggedInPageAsync(fixture.Authenticator);
        var (_, client) = await fixture.StartAppAsync("Slow App");
        await using var _ = client;
        await AuthenticatorFixture.ConnectAsync(page, client);
        await page.GotoAsync("/");
        var cid = await client.Authentication.SendAsync(fixture.SelfId, new AuthenticationRequestOptions { Description = "Expires soon", Expiry = TimeSpan.FromSeconds(4) });
        var card = page.Locator(".request", new() { HasText = "Expires soon" });
        await card.Locator("button.accept").WaitForAsync();
        var id = await card.GetAttributeAsync("data-id");

        await Assertions.Expect(card).ToContainTextAsync("Expired", new() { Timeout = 20_000 });
        await Assertions.Expect(card.Locator("button.accept")).ToHaveCountAsync(0);

        // Asking the server directly does not answer it either.
        var result = await page.EvaluateAsync<string>(
            "async (id) => { const csrf = document.querySelector('meta[name=\"csrf-token\"]').content; const r = await fetch('/requests/' + id + '/accept', { method: 'POST', headers: { 'X-CSRF-Token': csrf, 'Accept': 'application/json' } }); return r.status + ' ' + (await r.json()).message; }", id);
        Assert.StartsWith("409 ", result, StringComparison.Ordinal);
        Assert.Contains("expired", result, StringComparison.Ordinal);
        Assert.Equal(AuthenticationStatus.Expired, (await client.Authentication.WaitForResponseAsync(cid).WaitAsync(Wait)).Status);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_qr_code_picture_or_its_text_is_answered()
    {
        var page = await fixture.LoggedInPageAsync(fixture.Authenticator, phone: true);
        var (_, client) = await fixture.StartAppAsync("Kiosk");
        await using var _ = client;

        // A picture of the QR code, read on the server.
        var qr = await client.Authentication.GenerateQrCodeAsync(new AuthenticationRequestOptions { Description = "Sign in at the kiosk" });
        await page.GotoAsync("/");
        await page.Locator("input[type=file]").SetInputFilesAsync(new FilePayload { Name = "qr.png", MimeType = "image/png", Buffer = qr.ToPng(6) });
        await page.GetByRole(AriaRole.Button, new() { Name = "Read it" }).ClickAsync();
        await Assertions.Expect(page.Locator(".notice")).ToContainTextAsync("Kiosk");
        var card = page.Locator(".request.open", new() { HasText = "Sign in at the kiosk" });
        await card.WaitForAsync();
        await AuthenticatorFixture.ScreenshotAsync(page, "phone-qr-request");
        await card.Locator("button.accept").ClickAsync();
        var response = await client.Authentication.WaitForResponseAsync(qr.ConversationId).WaitAsync(Wait);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
        Assert.Equal(fixture.SelfId, response.SelfId);

        // Its text pasted, answered no.
        var second = await client.Authentication.GenerateQrCodeAsync(new AuthenticationRequestOptions { Description = "Second kiosk sign-in" });
        await page.GetByLabel("Paste the QR code's text or the link").FillAsync(second.Payload);
        await page.GetByRole(AriaRole.Button, new() { Name = "Read it" }).ClickAsync();
        await page.Locator(".request.open", new() { HasText = "Second kiosk sign-in" }).Locator("button.reject").ClickAsync();
        Assert.Equal(AuthenticationStatus.Rejected, (await client.Authentication.WaitForResponseAsync(second.ConversationId).WaitAsync(Wait)).Status);

        // A picture without a code, and text that is no request: clear refusals.
        await page.Locator("input[type=file]").SetInputFilesAsync(new FilePayload { Name = "icon.png", MimeType = "image/png", Buffer = await (await page.APIRequest.GetAsync("/icon-192.png")).BodyAsync() });
        await page.GetByRole(AriaRole.Button, new() { Name = "Read it" }).ClickAsync();
        await Assertions.Expect(page.Locator("p.error[role=alert]")).ToContainTextAsync("No QR code could be read");
        await page.GetByLabel("Paste the QR code's text or the link").FillAsync("hello");
        await page.GetByRole(AriaRole.Button, new() { Name = "Read it" }).ClickAsync();
        await Assertions.Expect(page.Locator("p.error[role=alert]")).ToContainTextAsync("neither");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Self_id_page_and_devices_page()
    {
        var page = await fixture.LoggedInPageAsync(fixture.Authenticator);
        await page.GotoAsync("/identity");
        await Assertions.Expect(page.Locator("#self-id")).ToHaveTextAsync(fixture.SelfId);
        await Assertions.Expect(page.Locator(".qr svg")).ToHaveCountAsync(1);
        await AuthenticatorFixture.ScreenshotAsync(page, "self-id");

        await page.GotoAsync("/devices");
        var before = await page.Locator("#key-id").TextContentAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Rotate this device's key" }).ClickAsync();
        await Assertions.Expect(page.Locator(".notice")).ToContainTextAsync("new key");
        Assert.NotEqual(before, await page.Locator("#key-id").TextContentAsync());

        await page.GetByPlaceholder("new device id (optional)").FillAsync("laptop");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add a device" }).ClickAsync();
        await Assertions.Expect(page.Locator("#enrollment")).ToContainTextAsync("laptop");
        await Assertions.Expect(page.Locator("#devices")).ToContainTextAsync("laptop");
        await AuthenticatorFixture.ScreenshotAsync(page, "devices");
        await page.Locator("#devices li", new() { HasText = "laptop" }).GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await Assertions.Expect(page.Locator(".notice")).ToContainTextAsync("Revoked device laptop");
        await Assertions.Expect(page.Locator("#devices li", new() { HasText = "laptop" })).ToHaveCountAsync(0);
        await page.Context.CloseAsync();
    }
}

/// <summary>Number matching (spec §9a) in the page: the person types the number the app's screen shows.</summary>
[Collection(AuthenticatorCollection.Name)]
public sealed class NumberMatchingPageTests(AuthenticatorFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_right_number_accepts_a_wrong_one_is_refused_and_the_page_never_shows_it()
    {
        var page = await fixture.LoggedInPageAsync(fixture.Authenticator);
        var (_, client) = await fixture.StartAppAsync("Bank");
        await using var _ = client;
        await AuthenticatorFixture.ConnectAsync(page, client);
        await page.GotoAsync("/");

        var challenge = await client.Authentication.StartAsync(fixture.SelfId, new AuthenticationRequestOptions
        {
            Description = "Sign in to Bank",
            NumberMatching = true,
        });
        Assert.NotNull(challenge.Number);
        var card = page.Locator(".request.open", new() { HasText = "Sign in to Bank" });
        var input = card.GetByLabel("Type the number shown on the sign-in screen");
        await input.WaitForAsync();

        // The number is nowhere in the page (only its salted hash reached the device).
        Assert.DoesNotContain(">" + challenge.Number + "<", await page.ContentAsync(), StringComparison.Ordinal);

        var wrong = challenge.Number == "00" ? "01" : "00";
        await input.FillAsync(wrong);
        await card.Locator("button.accept").ClickAsync();
        await Assertions.Expect(card.Locator(".error")).ToContainTextAsync("not the number shown");
        await AuthenticatorFixture.ScreenshotAsync(page, "number-matching");

        await card.GetByLabel("Type the number shown on the sign-in screen").FillAsync(challenge.Number!);
        await card.Locator("button.accept").ClickAsync();
        var response = await client.Authentication.WaitForResponseAsync(challenge.ConversationId).WaitAsync(Wait);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Accept_without_the_number_sends_nothing_and_three_wrong_numbers_reject()
    {
        var page = await fixture.LoggedInPageAsync(fixture.Authenticator);
        var (_, client) = await fixture.StartAppAsync("Broker");
        await using var _ = client;
        await AuthenticatorFixture.ConnectAsync(page, client);
        await page.GotoAsync("/");
        var challenge = await client.Authentication.StartAsync(fixture.SelfId, new AuthenticationRequestOptions { Description = "Sign in to Broker", NumberMatching = true });
        var card = page.Locator(".request", new() { HasText = "Sign in to Broker" });
        await card.Locator("button.accept").WaitForAsync();
        var id = await card.GetAttributeAsync("data-id");

        // The server refuses an accept without a number (the page's form would not even submit it).
        var result = await page.EvaluateAsync<string>(
            "async (id) => { const csrf = document.querySelector('meta[name=\"csrf-token\"]').content; const r = await fetch('/requests/' + id + '/accept', { method: 'POST', headers: { 'X-CSRF-Token': csrf, 'Accept': 'application/json' } }); return r.status + ' ' + (await r.json()).message; }", id);
        Assert.StartsWith("409 ", result, StringComparison.Ordinal);
        Assert.Contains("number", result, StringComparison.Ordinal);

        var wrong = challenge.Number == "00" ? "01" : "00";
        foreach (var left in new[] { "2 tries left", "1 try left" })
        {
            await card.GetByLabel("Type the number shown on the sign-in screen").FillAsync(wrong);
            await card.Locator("button.accept").ClickAsync();
            await Assertions.Expect(card.Locator(".error")).ToContainTextAsync(left);
        }

        await card.GetByLabel("Type the number shown on the sign-in screen").FillAsync(wrong);
        await card.Locator("button.accept").ClickAsync();

        var response = await client.Authentication.WaitForResponseAsync(challenge.ConversationId).WaitAsync(Wait);
        Assert.Equal(AuthenticationStatus.Rejected, response.Status);
        await Assertions.Expect(card).ToContainTextAsync("Rejected");
        await page.Context.CloseAsync();
    }
}
