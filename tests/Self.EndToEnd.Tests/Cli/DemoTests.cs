using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Self.EndToEnd.Tests.Cli;

/// <summary><c>self demo</c>, the README's main command, run as a person would run it.</summary>
public sealed partial class DemoTests : IDisposable
{
    private readonly CliRunner _cli = new();

    [Fact]
    public async Task Demo_Run_ExitsZeroShowsEachOutcomeAndLeavesNothingRunning()
    {
        var result = await _cli.RunAsync("demo").WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 0, result.ToString());
        var console = result.Console;
        Assert.Contains("Refused: User 1112223334 has not connected to app", console);
        Assert.Matches(@"│ 1 │ blocking, not connected\s+│ refused\s+│ refused\s+│ as shown", console);
        Assert.Matches(@"│ 2 │ blocking\s+│ accepted\s+│ accepted\s+│ as shown", console);
        Assert.Matches(@"│ 3 │ non-blocking \(callback\)\s+│ rejected\s+│ rejected\s+│ as shown", console);
        Assert.Matches(@"│ 4 │ asynchronous \(subscription\)\s+│ accepted\s+│ accepted\s+│ as shown", console);
        Assert.Equal(5, Regex.Matches(console, "as shown").Count); // the four rows of the table, and the closing line
        Assert.Contains("Every outcome is as shown.", console);
        Assert.DoesNotContain("DIFFERS", console);

        var listening = ListeningOn().Match(console);
        var port = int.Parse(listening.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        using var probe = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => probe.ConnectAsync("127.0.0.1", port));
        var data = listening.Groups[2].Value;
        Assert.EndsWith("network", data);
        Assert.False(Directory.Exists(Path.GetDirectoryName(data)), $"{data} was left behind");
    }

    [Fact]
    public async Task Demo_RunTwiceOnTheSameData_ReopensTheUserAndExitsZero()
    {
        var first = await _cli.RunAsync("demo", "--data", "demo-data").WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(first.ExitCode == 0, first.ToString());

        var second = await _cli.RunAsync("demo", "--data", "demo-data").WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.True(Directory.Exists(Path.Combine(_cli.WorkingDirectory, "demo-data", "network")));
    }

    [GeneratedRegex(@"Network listening on http://127\.0\.0\.1:(\d+)/ \(embedded store in (.+)\)")]
    private static partial Regex ListeningOn();

    public void Dispose() => _cli.Dispose();
}
