using Microsoft.Playwright;
using Self.Network;
using Self.Sdk;
using Self.Sdk.Apps;

namespace Self.Authenticator.Tests;

/// <summary>
/// One Self network on loopback, one web authenticator whose identity was created through its own page, and Debian's
/// headless chromium driven by Playwright (never a downloaded browser). Tests open their own browser contexts and make
/// their own apps.
/// </summary>
public sealed class AuthenticatorFixture : IAsyncLifetime
{
    public const string AdminToken = NetworkFixture.AdminToken;
    public const string Passphrase = "correct horse battery staple";

    private readonly NetworkFixture _network = new();
    private readonly List<TempDirectory> _folders = [];
    private IPlaywright? _playwright;
    private AuthenticatorServer? _authenticator;
    private IBrowser? _browser;

    public SelfNetworkServer Network => _network.Server;

    public AuthenticatorServer Authenticator => _authenticator ?? throw new InvalidOperationException("not started");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("not started");

    /// <summary>The Self ID the shared authenticator created on its first run.</summary>
    public string SelfId { get; private set; } = string.Empty;

    /// <summary>Where the README's screenshots go: docs/images of the repository.</summary>
    public static string ImagesFolder
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Self.slnx")))
            {
                dir = dir.Parent;
            }

            return Path.Combine(dir?.FullName ?? Path.GetTempPath(), "docs", "images");
        }
    }

    public async Task InitializeAsync()
    {
        await _network.InitializeAsync();
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox"],
        });
        _authenticator = await StartAuthenticatorAsync(NewFolder("authenticator"));

        var page = await LoggedInPageAsync(Authenticator);
        SelfId = await CreateIdentityAsync(page);
        await page.Context.CloseAsync();
    }

    public async Task DisposeAsync()
    {
        if (_authenticator is not null)
        {
            await _authenticator.DisposeAsync();
        }

        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        await _network.DisposeAsync();
        foreach (var folder in _folders)
        {
            folder.Dispose();
        }
    }

    /// <summary>A fresh folder, deleted when the fixture is.</summary>
    public string NewFolder(string name) => NewTempDirectory(name).Path;

    private TempDirectory NewTempDirectory(string name)
    {
        var folder = new TempDirectory("self-auth-" + name);
        lock (_folders)
        {
            _folders.Add(folder);
        }

        return folder;
    }

    /// <summary>An authenticator on a free loopback port (cheap Argon2id costs: the KDF itself is not what is tested here).</summary>
    public Task<AuthenticatorServer> StartAuthenticatorAsync(string dataDirectory) => AuthenticatorServer.StartAsync(new AuthenticatorOptions
    {
        ServerUrl = Network.BaseAddress,
        DataDirectory = dataDirectory,
        KdfIterations = 1,
        KdfMemoryBytes = 1024 * 1024,
    });

    /// <summary>A fresh browser context (phone-sized when asked) logged in with a new one-time link.</summary>
    public async Task<IPage> LoggedInPageAsync(AuthenticatorServer authenticator, bool phone = false)
    {
        var context = await Browser.NewContextAsync(phone
            ? new BrowserNewContextOptions { BaseURL = authenticator.BaseAddress.ToString(), ViewportSize = new ViewportSize { Width = 390, Height = 844 }, DeviceScaleFactor = 2, IsMobile = true, HasTouch = true }
            : new BrowserNewContextOptions { BaseURL = authenticator.BaseAddress.ToString(), ViewportSize = new ViewportSize { Width = 1100, Height = 800 } });
        var page = await context.NewPageAsync();
        var response = await page.GotoAsync(authenticator.NewLoginLink().ToString());
        Assert.Equal(200, response!.Status);
        return page;
    }

    /// <summary>Fills the first-run form and returns the new Self ID (the recovery page shows it).</summary>
    public static async Task<string> CreateIdentityAsync(IPage page, string? screenshot = null)
    {
        await page.GetByLabel("Passphrase (at least 8 characters)").FillAsync(Passphrase);
        await page.GetByLabel("Passphrase again").FillAsync(Passphrase);
        if (screenshot is not null)
        {
            await ScreenshotAsync(page, screenshot + "-setup");
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Create identity" }).ClickAsync();
        await page.Locator("#recovery-key").WaitForAsync();
        if (screenshot is not null)
        {
            await ScreenshotAsync(page, screenshot + "-recovery-key");
        }

        var selfId = (await page.Locator("#self-id").TextContentAsync())!.Trim();
        await page.GetByRole(AriaRole.Button, new() { Name = "I have written it down" }).ClickAsync();
        return selfId;
    }

    public async Task<(CreatedApp App, SelfClient Client)> StartAppAsync(string name)
    {
        var app = await _network.CreateAppAsync(name);
        var client = new SelfClient(_network.ClientOptions(app, NewTempDirectory("app")));
        await client.StartAsync();
        return (app, client);
    }

    /// <summary>Connects the shared authenticator's user to the app through the invitation, in the page.</summary>
    public static async Task ConnectAsync(IPage page, SelfClient client)
    {
        var invitation = client.Connections.CreateInvitation("Sign in to your account");
        await page.GotoAsync("/connections");
        await page.GetByLabel("Paste the QR code's text or the link").FillAsync(invitation.DeepLink.ToString());
        await page.GetByRole(AriaRole.Button, new() { Name = "Read it" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Connect", Exact = true }).ClickAsync();
        await page.Locator(".notice").WaitForAsync();
        await client.Connections.WaitForConnectionAsync(invitation.ConversationId).WaitAsync(TimeSpan.FromSeconds(30));
    }

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ImagesFolder, "authenticator-" + name + ".png"), FullPage = true });
}

[CollectionDefinition(Name)]
public sealed class AuthenticatorCollection : ICollectionFixture<AuthenticatorFixture>
{
    public const string Name = "authenticator";
}
