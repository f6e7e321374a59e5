using Self.Cli.Home;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Messaging;
using Self.Protocol.Identifiers;
using Self.Protocol.Keys;

namespace Self.EndToEnd.Tests.Cli;

[Collection(NetworkCollection.Name)]
public sealed class AppCommandTests(NetworkFixture network) : IDisposable
{
    private readonly CliRunner _cli = new();

    [Fact]
    public async Task AppCreate_WithAdminToken_PrintsIdAndSecretAndKeepsTheDefaultApp()
    {
        var result = await _cli.RunAsync("app", "create", "--name", "Corner Shop", "--server", network.ApiUrl.ToString(), "--admin-token", NetworkFixture.AdminToken);

        Assert.True(result.ExitCode == 0, result.ToString());
        var app = _cli.Home.LoadApp(null);
        Assert.True(SelfIds.IsAppId(app.AppId));
        Assert.Equal("Corner Shop", app.Name);
        Assert.Contains(app.AppId, result.Output);
        Assert.Contains(app.Secret, result.Output);
        Assert.Contains(app.RecoverySecret, result.Output);
        await AssertAppKeyWorksAsync(app);
    }

    [Fact]
    public async Task AppCreate_Json_PrintsIdNameAndSecret()
    {
        var result = await _cli.RunAsync("app", "create", "--name", "Json Shop", "--server", network.ApiUrl.ToString(), "--admin-token", NetworkFixture.AdminToken, "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.JsonLines().Single();
        var id = json.GetProperty("id").GetString();
        Assert.True(SelfIds.IsAppId(id));
        Assert.Equal("Json Shop", json.GetProperty("name").GetString());
        var app = _cli.Home.LoadApp(id);
        Assert.Equal(app.Secret, json.GetProperty("secret").GetString());
        Assert.Equal(app.RecoverySecret, json.GetProperty("recovery_secret").GetString());
        Assert.Equal(network.ApiUrl.ToString(), json.GetProperty("server").GetString());
        Assert.Equal(string.Empty, result.Console);
    }

    [Fact]
    public async Task AppCreate_TokenFromEnvironment_CreatesApp()
    {
        _cli.Environment["SELF_ADMIN_TOKEN"] = NetworkFixture.AdminToken;

        var result = await _cli.RunAsync("app", "create", "--name", "Env Shop", "--server", network.ApiUrl.ToString(), "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("Env Shop", _cli.Home.LoadApp(null).Name);
    }

    [Fact]
    public async Task AppCreate_TokenFromDataFolder_CreatesApp()
    {
        var data = Path.Combine(_cli.WorkingDirectory, "net-data");
        Directory.CreateDirectory(data);
        await File.WriteAllTextAsync(Path.Combine(data, "admin-token"), NetworkFixture.AdminToken + "\n");

        var result = await _cli.RunAsync("app", "create", "--name", "Data Shop", "--server", network.ApiUrl.ToString(), "--data", "net-data", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("Data Shop", _cli.Home.LoadApp(null).Name);
    }

    [Fact]
    public async Task AppCreate_NoAdminTokenAnywhere_ExitsOneAndSaysWhereItLooked()
    {
        var result = await _cli.RunAsync("app", "create", "--name", "Shop", "--server", network.ApiUrl.ToString());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("No admin token", result.Error);
        Assert.Contains("SELF_ADMIN_TOKEN", result.Error);
        Assert.Contains(Path.Combine(_cli.WorkingDirectory, ".self-network", "admin-token"), result.Error);
        Assert.DoesNotContain("   at ", result.All);
        Assert.False(File.Exists(Path.Combine(_cli.HomePath, "default-app")));
    }

    [Fact]
    public async Task AppCreate_WrongAdminToken_ExitsOneWithTheNetworksReason()
    {
        var result = await _cli.RunAsync("app", "create", "--name", "Shop", "--server", network.ApiUrl.ToString(), "--admin-token", "not-the-admin-token-at-all");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("refused the admin token", result.Error);
        Assert.Contains("--admin-token", result.Error);
        Assert.DoesNotContain("   at ", result.All);
        Assert.False(File.Exists(Path.Combine(_cli.HomePath, "default-app")));
    }

    [Fact]
    public async Task AppCreate_Twice_TheLastIsTheDefault()
    {
        var first = await _cli.CreateAppAsync(network, "First");
        var second = await _cli.CreateAppAsync(network, "Second");

        Assert.NotEqual(first, second);
        Assert.Equal(second, _cli.Home.LoadApp(null).AppId);
        Assert.Equal("First", _cli.Home.LoadApp(first).Name);
    }

    [Fact]
    public async Task AppCreate_ProfileFiles_AreReadableByTheOwnerOnly()
    {
        var appId = await _cli.CreateAppAsync(network);
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = File.GetUnixFileMode(Path.Combine(_cli.HomePath, "apps", appId, "app.json"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
    }

    /// <summary>The saved secret is the app's real key: the network accepts a token it signs.</summary>
    private async Task AssertAppKeyWorksAsync(AppProfile app)
    {
        using var http = new HttpClient();
        var rest = new SelfRestClient(http, new SelfRestClientOptions
        {
            BaseAddress = network.ApiUrl,
            IdentityId = app.AppId,
            SigningKey = SigningKey.ParseSecret(app.Secret),
        });
        var record = await rest.GetAppAsync(app.AppId);
        Assert.Equal(app.Name, record.Name);
    }

    public void Dispose() => _cli.Dispose();
}
