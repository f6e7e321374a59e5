using System.Net;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Messaging;
using Self.Protocol;
using Self.Protocol.Identifiers;
using Self.Protocol.Keys;

namespace Self.EndToEnd.Tests.Cli;

/// <summary><c>self user create</c> and <c>self user connect</c> against a real network.</summary>
[Collection(NetworkCollection.Name)]
public sealed class UserCommandTests(NetworkFixture network) : IDisposable
{
    private readonly CliRunner _cli = new();

    [Fact]
    public async Task UserCreate_NoId_RegistersAnIdentityTheNetworkKnows()
    {
        var appId = await _cli.CreateAppAsync(network);

        var result = await _cli.RunAsync("user", "create", "--server", network.ApiUrl.ToString());

        Assert.True(result.ExitCode == 0, result.ToString());
        var user = _cli.Home.LoadUser(null);
        Assert.True(SelfIds.IsUserId(user.SelfId));
        Assert.Contains(user.SelfId, result.Console);
        var identity = await RestAs(appId).GetIdentityAsync(user.SelfId);
        Assert.Equal(user.SelfId, identity.Id);
        Assert.NotEmpty(identity.History);
    }

    [Fact]
    public async Task UserCreate_WithId_GetsThatId()
    {
        var wanted = CliSteps.FreshSelfId();

        var result = await _cli.RunAsync("user", "create", "--id", wanted, "--server", network.ApiUrl.ToString(), "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.JsonLines().Single();
        Assert.Equal(wanted, json.GetProperty("id").GetString());
        Assert.Equal(wanted, _cli.Home.LoadUser(null).SelfId);
    }

    [Fact]
    public async Task UserCreate_IdTaken_ExitsOneAndKeepsNothing()
    {
        var wanted = CliSteps.FreshSelfId();
        await _cli.CreateUserAsync(network, wanted);
        using var other = new CliRunner();

        var result = await other.RunAsync("user", "create", "--id", wanted, "--server", network.ApiUrl.ToString());

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains(wanted, result.Error);
        Assert.False(File.Exists(Path.Combine(other.HomePath, "default-user")));
    }

    [Fact]
    public async Task UserConnect_App_LetsTheAppReachTheUsersDevices()
    {
        var appId = await _cli.CreateAppAsync(network);
        var selfId = await _cli.CreateUserAsync(network);
        var app = RestAs(appId);
        var refused = await Assert.ThrowsAnyAsync<SelfApiException>(() => app.GetDevicesAsync(selfId));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);

        var result = await _cli.RunAsync("user", "connect", appId);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"user {selfId} to app {appId}", result.Console);
        Assert.NotEmpty(await app.GetDevicesAsync(selfId));
    }

    [Fact]
    public async Task UserConnect_NoUserInHome_ExitsOneAndSaysHowToMakeOne()
    {
        var result = await _cli.RunAsync("user", "connect", "0123456789abcdef0123456789abcdef");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("self user create", result.Error);
    }

    [Fact]
    public async Task UserListen_CtrlC_StopsAndExitsZero()
    {
        var selfId = await _cli.CreateUserAsync(network);
        using var stop = new CancellationTokenSource();
        var listen = _cli.Start(stop.Token, "user", "listen", "--accept");
        await listen.WaitForConsoleAsync($"Listening for requests to {selfId}");

        await stop.CancelAsync();

        var result = await listen.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(string.Empty, result.Error);
    }

    private SelfRestClient RestAs(string appId)
    {
        var profile = _cli.Home.LoadApp(appId);
        return new SelfRestClient(new HttpClient(), new SelfRestClientOptions
        {
            BaseAddress = network.ApiUrl,
            IdentityId = appId,
            SigningKey = SigningKey.ParseSecret(profile.Secret),
        });
    }

    public void Dispose() => _cli.Dispose();
}
