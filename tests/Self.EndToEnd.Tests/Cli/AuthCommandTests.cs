using Self.Device;
using Self.EndToEnd.Tests.Infrastructure;

namespace Self.EndToEnd.Tests.Cli;

/// <summary><c>self auth request</c> against a real network and a real device answering through <c>self user listen</c>.</summary>
[Collection(NetworkCollection.Name)]
public sealed class AuthCommandTests(NetworkFixture network) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly CliRunner _cli = new();

    [Fact]
    public async Task AuthRequest_UserAccepts_ExitsZeroAndListenShowsTheRequest()
    {
        var (appId, selfId) = await ConnectedPairAsync();
        var listen = _cli.Start(CancellationToken.None, "user", "listen", "--user", selfId, "--accept", "--count", "1", "--json");

        var result = await _cli.RunAsync(
            "auth", "request", selfId, "--app", appId, "--description", "Sign in to Shop", "--binding-message", "AB-12", "--expiry", "45s", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var outcome = result.JsonLines().Single();
        Assert.Equal("accepted", outcome.GetProperty("status").GetString());
        Assert.Equal(selfId, outcome.GetProperty("self_id").GetString());
        Assert.False(string.IsNullOrEmpty(outcome.GetProperty("device_id").GetString()));

        var listened = await listen.Completion.WaitAsync(Patience);
        Assert.True(listened.ExitCode == 0, listened.ToString());
        var answer = listened.JsonLines().Single();
        Assert.Equal(appId, answer.GetProperty("app_id").GetString());
        Assert.Equal("Shop", answer.GetProperty("app_name").GetString());
        Assert.Equal("Sign in to Shop", answer.GetProperty("description").GetString());
        Assert.Equal("AB-12", answer.GetProperty("binding_message").GetString());
        Assert.Equal("accepted", answer.GetProperty("answer").GetString());
    }

    [Fact]
    public async Task AuthRequest_UserRejects_ExitsThree()
    {
        var (appId, selfId) = await ConnectedPairAsync();
        var listen = _cli.Start(CancellationToken.None, "user", "listen", "--user", selfId, "--reject", "--count", "1");

        var result = await _cli.RunAsync("auth", "request", selfId, "--app", appId, "--description", "Pay 10 EUR", "--expiry", "45s");

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains($"Rejected by {selfId}", result.Console);
        var listened = await listen.Completion.WaitAsync(Patience);
        Assert.True(listened.ExitCode == 0, listened.ToString());
        Assert.Contains("Shop", listened.Console);
        Assert.Contains(appId, listened.Console);
        Assert.Contains("Pay 10 EUR", listened.Console);
        Assert.Contains("Rejected.", listened.Console);
    }

    [Fact]
    public async Task AuthRequest_NobodyAnswers_ExitsFourWhenItExpires()
    {
        var (appId, selfId) = await ConnectedPairAsync();

        var result = await _cli.RunAsync("auth", "request", selfId, "--app", appId, "--expiry", "1s", "--json");

        Assert.True(result.ExitCode == 4, result.ToString());
        Assert.Equal("expired", result.JsonLines().Single().GetProperty("status").GetString());
    }

    [Fact]
    public async Task AuthRequest_UserNotConnected_ExitsOneNamingUserAndApp()
    {
        var appId = await _cli.CreateAppAsync(network);
        var selfId = await _cli.CreateUserAsync(network);

        var result = await _cli.RunAsync("auth", "request", selfId, "--app", appId, "--expiry", "30s");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains(selfId, result.Error);
        Assert.Contains(appId, result.Error);
        Assert.Contains("has not connected", result.Error);
        Assert.DoesNotContain("   at ", result.All);
    }

    [Fact]
    public async Task AuthRequest_AsyncUserNotConnected_ExitsOne()
    {
        var appId = await _cli.CreateAppAsync(network);
        var selfId = await _cli.CreateUserAsync(network);

        var result = await _cli.RunAsync("auth", "request", selfId, "--app", appId, "--async", "--expiry", "30s", "--json");

        Assert.True(result.ExitCode == 1, result.ToString());
        var outcome = result.JsonLines().Last();
        Assert.Equal("unauthorized", outcome.GetProperty("status").GetString());
        Assert.Contains("has not connected", outcome.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task AuthRequest_UnknownUser_ExitsOne()
    {
        var appId = await _cli.CreateAppAsync(network);
        var nobody = CliSteps.FreshSelfId();

        var result = await _cli.RunAsync("auth", "request", nobody, "--app", appId, "--expiry", "30s");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains(nobody, result.Error);
    }

    [Fact]
    public async Task AuthRequest_Async_PrintsTheCidAtOnceThenTheOutcome()
    {
        var (appId, selfId) = await ConnectedPairAsync();
        var listen = _cli.Start(CancellationToken.None, "user", "listen", "--user", selfId, "--accept", "--count", "1", "--json");

        var result = await _cli.RunAsync("auth", "request", selfId, "--app", appId, "--async", "--expiry", "45s", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.JsonLines();
        Assert.Equal(2, lines.Count);
        var cid = lines[0].GetProperty("cid").GetString();
        // The SDK's signed cid (docs/app-devices.md), so that another instance can wait for it with 'self auth wait'.
        Assert.True(Self.Protocol.Identifiers.SelfIds.IsConversationId(cid!), cid);
        Assert.StartsWith("s1.", cid, StringComparison.Ordinal);
        Assert.Equal(cid, lines[1].GetProperty("cid").GetString());
        Assert.Equal("accepted", lines[1].GetProperty("status").GetString());
        var listened = await listen.Completion.WaitAsync(Patience);
        Assert.True(listened.ExitCode == 0, listened.ToString());
        Assert.Equal(cid, listened.JsonLines().Single().GetProperty("cid").GetString());
    }

    [Fact]
    public async Task AuthRequest_DefaultApp_IsTheLastCreated()
    {
        var selfId = await _cli.CreateUserAsync(network);
        var first = await _cli.CreateAppAsync(network, "First");
        var second = await _cli.CreateAppAsync(network, "Second");
        await _cli.ConnectAsync(selfId, second);
        var listen = _cli.Start(CancellationToken.None, "user", "listen", "--accept", "--count", "1", "--json");

        var result = await _cli.RunAsync("auth", "request", selfId, "--expiry", "45s");

        Assert.True(result.ExitCode == 0, result.ToString());
        var answered = (await listen.Completion.WaitAsync(Patience)).JsonLines().Single();
        Assert.Equal(second, answered.GetProperty("app_id").GetString());
        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task AuthQr_DeviceScansAndAccepts_ExitsZeroNamingTheUser()
    {
        var (appId, selfId) = await ConnectedPairAsync();
        var qr = _cli.Start(CancellationToken.None, "auth", "qr", "--app", appId, "--expiry", "45s", "--json");
        using var sent = System.Text.Json.JsonDocument.Parse((await qr.WaitForOutputLinesAsync(1))[0]);
        var payload = sent.RootElement.GetProperty("payload").GetString()!;
        var cid = sent.RootElement.GetProperty("cid").GetString();

        var user = _cli.Home.LoadUser(selfId);
        await using (var device = await SelfDevice.OpenAsync(new SelfDeviceOptions
        {
            ServerUrl = network.ApiUrl,
            StorageDirectory = user.StorageDirectory,
            StorageKey = user.StorageKey,
        }))
        {
            await device.AnswerQrAsync(payload, accept: true);
        }

        var result = await qr.Completion.WaitAsync(Patience);
        Assert.True(result.ExitCode == 0, result.ToString());
        var outcome = result.JsonLines().Last();
        Assert.Equal("accepted", outcome.GetProperty("status").GetString());
        Assert.Equal(selfId, outcome.GetProperty("self_id").GetString());
        Assert.Equal(cid, outcome.GetProperty("cid").GetString());
    }

    [Fact]
    public async Task AuthQr_NobodyScans_DrawsTheCodeAndExitsFour()
    {
        await _cli.CreateAppAsync(network);

        var result = await _cli.RunAsync("auth", "qr", "--expiry", "1s");

        Assert.True(result.ExitCode == 4, result.ToString());
        Assert.Contains("█", result.Output);
        Assert.Contains("Scan this code", result.Console);
        Assert.Contains("Expired", result.Console);
    }

    private async Task<(string AppId, string SelfId)> ConnectedPairAsync()
    {
        var appId = await _cli.CreateAppAsync(network);
        var selfId = await _cli.CreateUserAsync(network);
        await _cli.ConnectAsync(selfId, appId);
        return (appId, selfId);
    }

    public void Dispose() => _cli.Dispose();
}
