using Self.EndToEnd.Tests.Infrastructure;

namespace Self.EndToEnd.Tests.Cli;

/// <summary><c>self network serve</c> started like a person would, on a free port, then stopped with Ctrl-C.</summary>
public sealed class NetworkServeTests : IDisposable
{
    private readonly CliRunner _cli = new();

    [Fact]
    public async Task Serve_NoAdminToken_PrintsTheGeneratedTokenOnceAndAppCreateFindsIt()
    {
        using var stop = new CancellationTokenSource();
        var serve = _cli.Start(stop.Token, "network", "serve", "--urls", "http://127.0.0.1:0", "--json");
        try
        {
            var line = (await serve.WaitForOutputLinesAsync(1))[0];
            using var json = System.Text.Json.JsonDocument.Parse(line);
            var api = new Uri(json.RootElement.GetProperty("api_url").GetString()!);
            var token = json.RootElement.GetProperty("admin_token").GetString()!;
            var data = Path.Combine(_cli.WorkingDirectory, ".self-network");
            Assert.Equal(data, json.RootElement.GetProperty("data").GetString());
            Assert.Equal(token, (await File.ReadAllTextAsync(Path.Combine(data, "admin-token"))).Trim());

            using (var http = new HttpClient())
            {
                var health = await http.GetAsync(new Uri(api, "/healthz"));
                Assert.True(health.IsSuccessStatusCode);
            }

            // Run from the same folder, app create reads the token the server keeps in ./.self-network.
            var app = await _cli.RunAsync("app", "create", "--name", "Local", "--server", api.ToString(), "--json");
            Assert.True(app.ExitCode == 0, app.ToString());
        }
        finally
        {
            await stop.CancelAsync();
        }

        var result = await serve.Completion;
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task Serve_AdminTokenGiven_ListensUntilCancelledAndDoesNotPrintTheToken()
    {
        using var stop = new CancellationTokenSource();
        var serve = _cli.Start(stop.Token, "network", "serve", "--urls", "http://127.0.0.1:0", "--data", "given", "--admin-token", NetworkFixture.AdminToken);
        var lines = await serve.WaitForConsoleAsync("Press Ctrl-C to stop.");
        await stop.CancelAsync();

        var result = await serve.Completion;
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Self network listening on http://127.0.0.1:", lines);
        var database = Path.Combine(_cli.WorkingDirectory, "given", "self-network.db");
        Assert.Matches($@"Registry\s+SQLite {System.Text.RegularExpressions.Regex.Escape(database)}", lines);
        Assert.Matches($@"Inboxes\s+SQLite {System.Text.RegularExpressions.Regex.Escape(database)}", lines);
        Assert.DoesNotContain("--postgres and --nats", lines);
        Assert.DoesNotContain(NetworkFixture.AdminToken, result.All);
        Assert.Contains("Stopped.", result.Console);
        Assert.False(File.Exists(Path.Combine(_cli.WorkingDirectory, "given", "admin-token")));
    }

    [Fact]
    public async Task Serve_PostgresNotAConnectionString_ExitsTwoNamingTheSettingWithoutStarting()
    {
        var result = await _cli.RunAsync("network", "serve", "--urls", "http://127.0.0.1:0", "--postgres", "Hots=db;Password=hunter2-secret");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("ConnectionString", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-secret", result.All, StringComparison.Ordinal);
        Assert.DoesNotContain("listening", result.Console, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_NatsFromTheEnvironmentUnreachable_ExitsOneNamingTheServer()
    {
        int port;
        using (var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }

        _cli.Environment["SELF_NATS_URL"] = $"nats://127.0.0.1:{port}";

        var result = await _cli.RunAsync("network", "serve", "--urls", "http://127.0.0.1:0", "--data", "unreachable");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"127.0.0.1:{port}", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServeHelp_NamesTheScaleOutOptionsAndTheirVariables()
    {
        var result = await _cli.RunAsync("network", "serve", "--help");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("--postgres", result.Output, StringComparison.Ordinal);
        Assert.Contains("SELF_POSTGRES", result.Output, StringComparison.Ordinal);
        Assert.Contains("--nats", result.Output, StringComparison.Ordinal);
        Assert.Contains("SELF_NATS_URL", result.Output, StringComparison.Ordinal);
    }

    public void Dispose() => _cli.Dispose();
}
