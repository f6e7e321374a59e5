using System.Net;
using System.Net.Sockets;
using QRCoder;
using Self.EndToEnd.Tests.Infrastructure;

namespace Self.EndToEnd.Tests.Cli;

/// <summary>
/// The CLI device as a person meets it (issue 12 part 3): REST-only commands leave a listener alone, a superseded
/// listener says so, QR codes and links answered with <c>user scan</c>, number matching at the terminal, usage errors.
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class DeviceCommandFixTests(NetworkFixture network) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly CliRunner _cli = new();

    [Fact]
    public async Task UserConnect_WhileAListenerRuns_LeavesItsConnectionAlone()
    {
        var shop = await _cli.CreateAppAsync(network, "Shop");
        var selfId = await _cli.CreateUserAsync(network);
        await _cli.ConnectAsync(selfId, shop);
        var listen = _cli.Start(CancellationToken.None, "user", "listen", "--user", selfId, "--accept", "--count", "1");
        await listen.WaitForConsoleAsync("Listening for requests");

        // A second app, connected while the listener runs: before the fix this took the listener's connection over.
        var bank = await _cli.CreateAppAsync(network, "Bank");
        await _cli.ConnectAsync(selfId, bank);
        var result = await _cli.RunAsync("auth", "request", selfId, "--app", bank, "--expiry", "45s", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var listened = await listen.Completion.WaitAsync(Patience);
        Assert.True(listened.ExitCode == 0, listened.ToString());
        Assert.Contains(bank, listened.Console, StringComparison.Ordinal);
        Assert.Contains("Accepted.", listened.Console, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Listener_SupersededByAnotherConnectionOfTheDevice_SaysSoAndExitsOne()
    {
        var selfId = await _cli.CreateUserAsync(network);
        var first = _cli.Start(CancellationToken.None, "user", "listen", "--user", selfId, "--accept");
        await first.WaitForConsoleAsync("Listening for requests");

        using var stop = new CancellationTokenSource();
        var second = _cli.Start(stop.Token, "user", "listen", "--user", selfId, "--accept");
        var result = await first.Completion.WaitAsync(Patience);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("took over its connection", result.Error, StringComparison.Ordinal);

        // Ctrl-C while it still opens the device would be "Cancelled." (exit 1): stop it once it listens.
        await second.WaitForConsoleAsync("Listening for requests");
        await stop.CancelAsync();
        Assert.Equal(0, (await second.Completion.WaitAsync(Patience)).ExitCode);
    }

    [Fact]
    public async Task UserScan_QrText_AcceptsAndTheAppSeesWho()
    {
        var appId = await _cli.CreateAppAsync(network);
        var selfId = await _cli.CreateUserAsync(network);
        var qr = _cli.Start(CancellationToken.None, "auth", "qr", "--app", appId, "--expiry", "45s", "--json");
        using var sent = System.Text.Json.JsonDocument.Parse((await qr.WaitForOutputLinesAsync(1))[0]);
        var payload = sent.RootElement.GetProperty("payload").GetString()!;

        var scan = await _cli.RunAsync("user", "scan", payload, "--accept", "--json");

        Assert.True(scan.ExitCode == 0, scan.ToString());
        var answer = scan.JsonLines().Single();
        Assert.Equal("request", answer.GetProperty("kind").GetString());
        Assert.Equal("accepted", answer.GetProperty("answer").GetString());
        var outcome = await qr.Completion.WaitAsync(Patience);
        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Equal(selfId, outcome.JsonLines()[1].GetProperty("self_id").GetString());
    }

    [Fact]
    public async Task UserScan_PictureOfTheQrCode_Rejects()
    {
        var appId = await _cli.CreateAppAsync(network);
        await _cli.CreateUserAsync(network);
        var qr = _cli.Start(CancellationToken.None, "auth", "qr", "--app", appId, "--expiry", "45s", "--json");
        using var sent = System.Text.Json.JsonDocument.Parse((await qr.WaitForOutputLinesAsync(1))[0]);
        var picture = Path.Combine(_cli.WorkingDirectory, "code.png");
        using (var generator = new QRCodeGenerator())
        using (var data = generator.CreateQrCode(sent.RootElement.GetProperty("payload").GetString()!, QRCodeGenerator.ECCLevel.L))
        {
            await File.WriteAllBytesAsync(picture, new PngByteQRCode(data).GetGraphic(5));
        }

        var scan = await _cli.RunAsync("user", "scan", "code.png", "--reject");

        Assert.True(scan.ExitCode == 3, scan.ToString());
        Assert.Contains("Rejected.", scan.Console, StringComparison.Ordinal);
        Assert.Equal(3, (await qr.Completion.WaitAsync(Patience)).ExitCode);
    }

    [Fact]
    public async Task UserScan_NeitherRequestNorPicture_ExplainsWithoutATrace()
    {
        await _cli.CreateUserAsync(network);

        var missing = await _cli.RunAsync("user", "scan", "no-such-file.png", "--accept");
        var garbage = await _cli.RunAsync("user", "scan", "{\"payload\":\"x\"}", "--accept");

        Assert.True(missing.ExitCode == 2, missing.ToString());
        Assert.Contains("no-such-file.png", missing.Error, StringComparison.Ordinal);
        Assert.True(garbage.ExitCode == 1, garbage.ToString());
        Assert.Contains("neither", garbage.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", garbage.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Listen_WithAccept_NeverAnswersANumberMatchingRequestAndSaysWhy()
    {
        var appId = await _cli.CreateAppAsync(network);
        var selfId = await _cli.CreateUserAsync(network);
        await _cli.ConnectAsync(selfId, appId);
        using var stop = new CancellationTokenSource();
        var listen = _cli.Start(stop.Token, "user", "listen", "--user", selfId, "--accept");
        await listen.WaitForConsoleAsync("Listening for requests");

        var result = await _cli.RunAsync("auth", "request", selfId, "--app", appId, "--number-matching", "--expiry", "5s", "--json");

        Assert.True(result.ExitCode == 4, result.ToString());
        var sent = result.JsonLines()[0];
        Assert.Matches("^[0-9]{2}$", sent.GetProperty("number").GetString());
        await stop.CancelAsync();
        var listened = await listen.Completion.WaitAsync(Patience);
        Assert.Contains("uses number matching", listened.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Accepted.", listened.Console, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuthRequest_ExpiryOverADay_IsUsageWithoutDotNetText()
    {
        var result = await _cli.RunAsync("auth", "request", "1112223334", "--expiry", "25h");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--expiry", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Parameter", result.All, StringComparison.Ordinal);
        Assert.DoesNotContain("Actual value", result.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_IsReadable_QuotesAndPlusSignsAreNotEscaped()
    {
        var appId = await _cli.CreateAppAsync(network);
        var qr = _cli.Start(CancellationToken.None, "auth", "qr", "--app", appId, "--expiry", "5s", "--json");
        var line = (await qr.WaitForOutputLinesAsync(1))[0];

        Assert.Contains("\\\"", line, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u0022", line, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u002B", line, StringComparison.Ordinal);
        await qr.Completion.WaitAsync(Patience);
    }

    [Fact]
    public async Task AuthQr_In80Columns_FitsOrPrintsTheRequestText()
    {
        var appId = await _cli.CreateAppAsync(network);
        _cli.ConsoleWidth = 80;

        var result = await _cli.RunAsync("auth", "qr", "--app", appId, "--expiry", "3s");

        Assert.True(result.ExitCode == 4, result.ToString());
        if (result.Output.Contains('▀') || result.Output.Contains('▄'))
        {
            Assert.All(result.Output.Split('\n'), row => Assert.True(row.TrimEnd('\r').Length <= 80, $"{row.Length} columns"));
        }
        else
        {
            Assert.Contains("does not fit this 80-column terminal", result.Console, StringComparison.Ordinal);
            Assert.Contains("\"protected\"", result.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task NetworkServe_PortInUse_OneClearLine()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var result = await _cli.RunAsync("network", "serve", "--urls", $"http://127.0.0.1:{port}", "--data", "busy");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"{port}", result.Error, StringComparison.Ordinal);
        Assert.Contains("in use", result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Authenticator_PortInUse_OneClearLine()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var result = await _cli.RunAsync("authenticator", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--no-open");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"Port {port} is already in use", result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <inheritdoc />
    public void Dispose() => _cli.Dispose();
}
