using Microsoft.Playwright;
using Self.Oidc.Tests.Infrastructure;

namespace Self.Oidc.Tests.CodeFlow;

/// <summary>Headless Debian Chromium driven by Playwright (never a downloaded browser).</summary>
public sealed class Browser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private Browser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        _browser = browser;
    }

    public static async Task<Browser> LaunchAsync()
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox"],
        });
        return new Browser(playwright, browser);
    }

    /// <summary>A fresh profile (its own cookies).</summary>
    public async Task<IBrowserContext> NewContextAsync()
    {
        var context = await _browser.NewContextAsync();
        context.SetDefaultTimeout((float)Waiting.Patience.TotalMilliseconds);
        return context;
    }

    public async Task<IPage> NewPageAsync() => await (await NewContextAsync()).NewPageAsync();

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
