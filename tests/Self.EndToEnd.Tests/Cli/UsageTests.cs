using System.CommandLine;
using Self.Cli;
using Spectre.Console;

namespace Self.EndToEnd.Tests.Cli;

/// <summary>Bad command lines: exit code 2 and a message that says what is wrong, before anything touches the network.</summary>
public sealed class UsageTests : IDisposable
{
    private readonly CliRunner _cli = new();

    [Theory]
    [InlineData(new string[0], "Required command")]
    [InlineData(new[] { "fly" }, "fly")]
    [InlineData(new[] { "app", "create" }, "--name")]
    [InlineData(new[] { "app", "create", "--name", "Shop", "--server", "ftp://example.com" }, "ftp://example.com")]
    [InlineData(new[] { "auth", "request", "12345" }, "'12345' is not a Self ID")]
    [InlineData(new[] { "auth", "request" }, "Required argument missing")]
    [InlineData(new[] { "auth", "request", "1112223334", "--expiry", "soon" }, "'soon' is not a duration")]
    [InlineData(new[] { "auth", "request", "1112223334", "--expiry", "0s" }, "'0s' is not a duration")]
    [InlineData(new[] { "auth", "request", "1112223334", "--app", "not-an-app" }, "is not an app id")]
    [InlineData(new[] { "user", "create", "--id", "abc" }, "'abc' is not a Self ID")]
    [InlineData(new[] { "user", "connect", "XYZ" }, "'XYZ' is not an app id")]
    [InlineData(new[] { "user", "listen", "--accept", "--reject" }, "cannot be used together")]
    [InlineData(new[] { "user", "listen", "--accept", "--count", "0" }, "--count must be at least 1")]
    [InlineData(new[] { "network", "serve", "--urls", "nonsense" }, "nonsense")]
    public async Task Run_BadUsage_ExitsTwoAndSaysWhy(string[] args, string expected)
    {
        var result = await _cli.RunAsync(args);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(expected, result.Error);
        Assert.DoesNotContain("   at ", result.All);
    }

    [Fact]
    public async Task Listen_NoFlagAndNoTerminalToAsk_ExitsTwo()
    {
        var result = await _cli.RunAsync("user", "listen");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--accept or --reject", result.Error);
    }

    [Fact]
    public async Task Help_OnEveryCommand_ExitsZeroAndDescribesIt()
    {
        var context = new CliContext(AnsiConsole.Create(new AnsiConsoleSettings()), TextWriter.Null, TextWriter.Null, _ => null);
        var commands = Flatten(CliApp.CreateRootCommand(context), []).ToList();
        Assert.Contains(commands, c => c.Path.SequenceEqual(new[] { "auth", "request" }));

        foreach (var (path, command) in commands)
        {
            var result = await _cli.RunAsync([.. path, "--help"]);

            Assert.True(result.ExitCode == 0, $"{string.Join(' ', path)} --help: {result}");
            Assert.Contains("Usage:", result.Output);
            if (command.Description is { } description)
            {
                Assert.Contains(description[..Math.Min(30, description.Length)], result.Output);
            }
        }
    }

    [Fact]
    public async Task AuthRequest_NoAppInHome_ExitsOneAndSaysHowToMakeOne()
    {
        var result = await _cli.RunAsync("auth", "request", "1112223334");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("self app create", result.Error);
    }

    private static IEnumerable<(string[] Path, Command Command)> Flatten(Command command, string[] path)
    {
        yield return (path, command);
        foreach (var sub in command.Subcommands)
        {
            foreach (var item in Flatten(sub, [.. path, sub.Name]))
            {
                yield return item;
            }
        }
    }

    public void Dispose() => _cli.Dispose();
}
