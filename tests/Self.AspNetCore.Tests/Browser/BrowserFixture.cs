using Microsoft.Playwright;

namespace Self.AspNetCore.Tests.Browser;

/// <summary>
/// Headless Chromium from Debian (<c>/usr/bin/chromium</c>, installed by scripts/deps.sh), driven by Playwright; no
/// browser is ever downloaded. Each test opens its own context (its own cookies).
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>Where Debian's chromium lives; SELF_CHROMIUM overrides it.</summary>
    public static string ChromiumPath => Environment.GetEnvironmentVariable("SELF_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>When set, the tests save screenshots of the login page's states there (docs/images keeps them).</summary>
    public static string? ScreenshotDirectory => Environment.GetEnvironmentVariable("SELF_SCREENSHOTS") is { Length: > 0 } dir ? dir : null;

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"Chromium is not installed at {ChromiumPath}: run scripts/deps.sh (apt-get install chromium).");
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox"],
        });
    }

    /// <summary>A fresh browser context the size of a phone.</summary>
    public Task<IBrowserContext> NewPhoneAsync() => Browser.NewContextAsync(new BrowserNewContextOptions
    {
        ViewportSize = new ViewportSize { Width = 412, Height = 860 },
        Locale = "en-GB",
    });

    /// <summary>Saves a screenshot as docs/images/signin-<paramref name="name"/>.png when screenshots are asked for.</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        if (ScreenshotDirectory is { } dir)
        {
            Directory.CreateDirectory(dir);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(dir, $"signin-{name}.png"), FullPage = true });
        }
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}
