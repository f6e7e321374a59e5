using Microsoft.Playwright;

namespace Self.Authenticator.Tests;

/// <summary>First run (identity, device key, passphrase vault, recovery key once) and later runs (unlock).</summary>
[Collection(AuthenticatorCollection.Name)]
public sealed class FirstRunTests(AuthenticatorFixture fixture)
{
    [Fact]
    public async Task First_run_creates_the_identity_and_later_runs_unlock_only_with_the_passphrase()
    {
        var folder = fixture.NewFolder("first-run");
        string selfId;
        await using (var authenticator = await fixture.StartAuthenticatorAsync(folder))
        {
            var page = await fixture.LoggedInPageAsync(authenticator);
            await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Create your Self identity" })).ToBeVisibleAsync();

            // Two different passphrases: refused, nothing created.
            await page.GetByLabel("Passphrase (at least 8 characters)").FillAsync("first passphrase");
            await page.GetByLabel("Passphrase again").FillAsync("other passphrase");
            await page.GetByRole(AriaRole.Button, new() { Name = "Create identity" }).ClickAsync();
            await Assertions.Expect(page.Locator(".error")).ToContainTextAsync("differ");
            Assert.False(File.Exists(Path.Combine(folder, "authenticator.json")));

            selfId = await AuthenticatorFixture.CreateIdentityAsync(page, screenshot: "first-run");
            Assert.Matches("^[0-9]{10,11}$", selfId);
            await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Requests" })).ToBeVisibleAsync();
            await AuthenticatorFixture.ScreenshotAsync(page, "requests-empty");
            await page.Context.CloseAsync();
        }

        // Beside the device there is a salt and the Argon2id costs, never a key.
        var settings = await File.ReadAllTextAsync(Path.Combine(folder, "authenticator.json"));
        Assert.Contains("argon2id", settings, StringComparison.Ordinal);
        Assert.DoesNotContain("storage_key", settings, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "authenticator.json")));
        }

        await using (var again = await fixture.StartAuthenticatorAsync(folder))
        {
            var page = await fixture.LoggedInPageAsync(again);
            await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Unlock your authenticator" })).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("main")).ToContainTextAsync(selfId);
            await AuthenticatorFixture.ScreenshotAsync(page, "unlock");

            await page.GetByLabel("Passphrase").FillAsync("not the passphrase");
            await page.GetByRole(AriaRole.Button, new() { Name = "Unlock" }).ClickAsync();
            await Assertions.Expect(page.Locator(".error")).ToContainTextAsync("not the passphrase of this vault");

            await page.GetByLabel("Passphrase").FillAsync(AuthenticatorFixture.Passphrase);
            await page.GetByRole(AriaRole.Button, new() { Name = "Unlock" }).ClickAsync();
            await Assertions.Expect(page.Locator("header .who")).ToHaveTextAsync(selfId);
            await page.Context.CloseAsync();
        }
    }
}
