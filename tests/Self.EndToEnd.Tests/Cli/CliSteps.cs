using Self.EndToEnd.Tests.Infrastructure;

namespace Self.EndToEnd.Tests.Cli;

/// <summary>The command lines most tests need before the one they test, each checked on the way.</summary>
internal static class CliSteps
{
    public static async Task<string> CreateAppAsync(this CliRunner cli, NetworkFixture network, string name = "Shop")
    {
        var result = await cli.RunAsync("app", "create", "--name", name, "--server", network.ApiUrl.ToString(), "--admin-token", NetworkFixture.AdminToken, "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.JsonLines().Single().GetProperty("id").GetString()!;
    }

    public static async Task<string> CreateUserAsync(this CliRunner cli, NetworkFixture network, string? id = null)
    {
        string[] args = id is null
            ? ["user", "create", "--server", network.ApiUrl.ToString(), "--json"]
            : ["user", "create", "--id", id, "--server", network.ApiUrl.ToString(), "--json"];
        var result = await cli.RunAsync(args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.JsonLines().Single().GetProperty("id").GetString()!;
    }

    public static async Task ConnectAsync(this CliRunner cli, string selfId, string appId)
    {
        var result = await cli.RunAsync("user", "connect", appId, "--user", selfId);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    /// <summary>A Self ID nobody else in the test run asks for: 10 digits, random.</summary>
    public static string FreshSelfId() => "1" + Random.Shared.NextInt64(0, 1_000_000_000).ToString("D9", System.Globalization.CultureInfo.InvariantCulture);
}
