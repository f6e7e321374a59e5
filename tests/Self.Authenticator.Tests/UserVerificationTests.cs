using Microsoft.Playwright;
using Self.Sdk.Authentication;
using static Microsoft.Playwright.Assertions;

namespace Self.Authenticator.Tests;

/// <summary>
/// User verification: the person may make the authenticator ask for their passphrase again before every Accept. Turning
/// it on or off needs the passphrase; an Accept without it, or with a wrong one, sends nothing; the choice survives a
/// restart. Each test has an authenticator of its own, so the shared one keeps its setting.
/// </summary>
[Collection(AuthenticatorCollection.Name)]
public sealed class UserVerificationTests(AuthenticatorFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task With_verification_on_an_accept_needs_the_passphrase_and_the_setting_survives_a_restart()
    {
        var folder = fixture.NewFolder("verification");
        string selfId;
        await using (var authenticator = await fixture.StartAuthenticatorAsync(folder))
        {
            var page = await fixture.LoggedInPageAsync(authenticator);
            selfId = await AuthenticatorFixture.CreateIdentityAsync(page);

            // Turning it on needs the passphrase.
            await page.GotoAsync("/identity");
            var setting = page.Locator("#verification");
            await Expect(setting).ToContainTextAsync("It is off");
            await setting.GetByLabel("Ask for my passphrase before each Accept").CheckAsync();
            await setting.GetByLabel("Your passphrase, to change this").FillAsync("not my passphrase");
            await setting.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not your passphrase: the setting is unchanged");
            await Expect(page.Locator("#verification")).ToContainTextAsync("It is off");
            await page.Locator("#verification").GetByLabel("Ask for my passphrase before each Accept").CheckAsync();
            await page.Locator("#verification").GetByLabel("Your passphrase, to change this").FillAsync(AuthenticatorFixture.Passphrase);
            await page.Locator("#verification").GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("now asks for your passphrase before each Accept");
            await Expect(page.Locator("#verification")).ToContainTextAsync("It is on");

            var (_, client) = await fixture.StartAppAsync("Pharmacy");
            await using var _ = client;
            await AuthenticatorFixture.ConnectAsync(page, client);
            await page.GotoAsync("/");
            var cid = await client.Authentication.SendAsync(selfId, new AuthenticationRequestOptions { Description = "Sign in to Pharmacy" });
            var card = page.Locator(".request.open", new() { HasText = "Sign in to Pharmacy" });
            var passphrase = card.GetByLabel("Your passphrase (this device asks for it before each Accept)");
            await passphrase.WaitForAsync();

            // Without it (the page's own check taken away, as a script posting the form would) and with a wrong one:
            // refused, nothing sent, the request still open.
            await passphrase.EvaluateAsync("input => input.required = false");
            await card.Locator("button.accept").ClickAsync();
            await Expect(card.Locator(".error")).ToContainTextAsync("Type your passphrase to accept");
            await card.GetByLabel("Your passphrase (this device asks for it before each Accept)").FillAsync("not my passphrase");
            await card.Locator("button.accept").ClickAsync();
            await Expect(card.Locator(".error")).ToContainTextAsync("not your passphrase: nothing was sent");
            await Expect(card).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("\\bopen\\b"));

            await card.GetByLabel("Your passphrase (this device asks for it before each Accept)").FillAsync(AuthenticatorFixture.Passphrase);
            await card.Locator("button.accept").ClickAsync();
            var response = await client.Authentication.WaitForResponseAsync(cid).WaitAsync(Wait);
            Assert.Equal(AuthenticationStatus.Accepted, response.Status);
            await page.Context.CloseAsync();
        }

        await using (var again = await fixture.StartAuthenticatorAsync(folder))
        {
            var page = await fixture.LoggedInPageAsync(again);
            await page.GetByLabel("Passphrase").FillAsync(AuthenticatorFixture.Passphrase);
            await page.GetByRole(AriaRole.Button, new() { Name = "Unlock" }).ClickAsync();
            await Expect(page.Locator("header .who")).ToHaveTextAsync(selfId);
            await page.GotoAsync("/identity");
            await Expect(page.Locator("#verification")).ToContainTextAsync("It is on");

            // Turning it off needs the passphrase as well.
            await page.Locator("#verification").GetByLabel("Ask for my passphrase before each Accept").UncheckAsync();
            await page.Locator("#verification").GetByLabel("Your passphrase, to change this").FillAsync(AuthenticatorFixture.Passphrase);
            await page.Locator("#verification").GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
            await Expect(page.Locator("#verification")).ToContainTextAsync("It is off");
            await page.Context.CloseAsync();
        }
    }
}
