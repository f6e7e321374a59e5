using System.Text.Json;
using Self.Cli;
using Self.Oidc.Tests.Infrastructure;
using Spectre.Console;

namespace Self.Oidc.Tests.Cli;

/// <summary><c>self oidc …</c> run in-process, as a person at a terminal would.</summary>
[Collection(OidcCollection.Name)]
public sealed class OidcCommandTests(OidcFixture fixture)
{
    [Fact]
    public async Task ClientAddListRemove_SecretShownOnceAndNeverListed()
    {
        var data = fixture.Data.Sub("cli-" + Guid.NewGuid().ToString("N"));
        var added = await RunAsync(default, "oidc", "client", "add", "--name", "Shop", "--redirect-uri", "https://shop.example/cb", "--ciba-mode", "poll", "--data", data, "--json");
        Assert.Equal(0, added.Code);
        using var created = JsonDocument.Parse(added.Output);
        var clientId = created.RootElement.GetProperty("client_id").GetString()!;
        var secret = created.RootElement.GetProperty("client_secret").GetString()!;
        Assert.True(secret.Length >= 40);

        var listed = await RunAsync(default, "oidc", "client", "list", "--data", data, "--json");
        Assert.Equal(0, listed.Code);
        Assert.Contains(clientId, listed.Output);
        Assert.Contains("https://shop.example/cb", listed.Output);
        Assert.DoesNotContain(secret, listed.Output + listed.Console);

        Assert.Equal(0, (await RunAsync(default, "oidc", "client", "remove", clientId, "--data", data)).Code);
        Assert.DoesNotContain(clientId, (await RunAsync(default, "oidc", "client", "list", "--data", data, "--json")).Output);
        var again = await RunAsync(default, "oidc", "client", "remove", clientId, "--data", data);
        Assert.Equal(1, again.Code);
        Assert.Contains("No client", again.Error);
    }

    [Fact]
    public async Task ClientAdd_PingWithoutEndpointOrUnknownMode_UsageErrorSayingWhat()
    {
        var data = fixture.Data.Sub("cli-" + Guid.NewGuid().ToString("N"));
        var ping = await RunAsync(default, "oidc", "client", "add", "--name", "Bank", "--ciba-mode", "ping", "--data", data);
        Assert.Equal(2, ping.Code);
        Assert.Contains("--notification-endpoint", ping.Error);

        var push = await RunAsync(default, "oidc", "client", "add", "--name", "Bank", "--ciba-mode", "push", "--data", data);
        Assert.Equal(2, push.Code);
    }

    [Fact]
    public async Task Serve_DeviceIdNotADeviceId_UsageErrorBeforeAnythingStarts()
    {
        var data = fixture.Data.Sub("cli-" + Guid.NewGuid().ToString("N"));
        var run = await RunAsync(default, "oidc", "serve", "--urls", "http://127.0.0.1:0", "--server", fixture.Network.BaseAddress.AbsoluteUri, "--data", data, "--device-id", "two words");
        Assert.Equal(2, run.Code);
        Assert.Contains("AppDeviceId 'two words' is not a device id", run.Error);
        Assert.False(Directory.Exists(data));
    }

    [Fact]
    public async Task Serve_CreatesItsAppWithTheAdminToken_AndServesDiscovery()
    {
        var data = fixture.Data.Sub("cli-serve-" + Guid.NewGuid().ToString("N"));
        using var stop = new CancellationTokenSource();
        var output = new LineSignallingWriter();
        var run = RunAsync(stop.Token, output, "oidc", "serve", "--urls", "http://127.0.0.1:0", "--server", fixture.Network.BaseAddress.AbsoluteUri, "--data", data, "--json");
        var line = await output.FirstLine.Task.WaitAsync(Waiting.Patience);
        using var started = JsonDocument.Parse(line);
        var discovery = await fixture.Http.GetStringAsync(started.RootElement.GetProperty("discovery").GetString());
        Assert.Contains("backchannel_authentication_endpoint", discovery);
        Assert.True(File.Exists(Path.Combine(data, "self-app.json")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(data, "self-app.json")));
        }

        Assert.DoesNotContain("secret", line, StringComparison.OrdinalIgnoreCase);

        await stop.CancelAsync();
        Assert.Equal(0, (await run).Code);
    }

    private Task<Result> RunAsync(CancellationToken cancellationToken, params string[] args) => RunAsync(cancellationToken, new LineSignallingWriter(), args);

    private async Task<Result> RunAsync(CancellationToken cancellationToken, LineSignallingWriter output, params string[] args)
    {
        var error = new StringWriter();
        var console = new StringWriter();
        var ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(console),
        });
        var environment = new Dictionary<string, string> { ["SELF_ADMIN_TOKEN"] = OidcFixture.AdminToken, ["SELF_HOME"] = fixture.Data.Sub("home") };
        var context = new CliContext(ansi, output, error, name => environment.GetValueOrDefault(name), cancellationToken);
        var code = await CliApp.RunAsync(args, context);
        return new Result(code, output.ToString(), error.ToString(), console.ToString());
    }

    private sealed record Result(int Code, string Output, string Error, string Console);
}
