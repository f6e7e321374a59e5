using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Self.EndToEnd.Tests.Cli;
using Self.Network.Distributed.Tests.Infrastructure;

namespace Self.Network.Distributed.Tests.ScaleOut;

/// <summary>
/// Two <c>self network serve</c> instances on different ports sharing one PostgreSQL database and one NATS server, run
/// in-process like a person would run them in two terminals: an app on one and a user on the other complete a request.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed partial class ServeCommandTests(ServicesFixture services) : IAsyncLifetime
{
    private const string AdminToken = "operator-token-given-to-every-instance";

    // Trust authentication ignores it; it is here to show the banner never prints a connection string's password.
    private const string Password = "password-that-must-not-be-printed";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly string _database = "t_" + Guid.NewGuid().ToString("N")[..16];
    private readonly CliRunner _first = new();
    private readonly CliRunner _second = new();
    private NatsServer? _nats;

    public async Task InitializeAsync()
    {
        // The command uses the default schema, stream and subjects: a database and a NATS server of this test's own
        // keep them apart from every other test (and from a real deployment the suite may be pointed at).
        await ExecuteAsync($"CREATE DATABASE \"{_database}\"");
        _nats = await NatsServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _first.Dispose();
        _second.Dispose();
        if (_nats is not null)
        {
            await _nats.DisposeAsync();
        }

        await ExecuteAsync($"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)");
    }

    [Fact]
    public async Task Serve_TwoInstancesOnPostgresAndNats_AppOnOneAndUserOnTheOtherCompleteARequest()
    {
        var postgres = new NpgsqlConnectionStringBuilder(services.Postgres.ConnectionString) { Database = _database, Password = Password }.ToString();
        _second.Environment["SELF_POSTGRES"] = postgres;
        _second.Environment["SELF_NATS_URL"] = _nats!.Url;
        _second.Environment["SELF_ADMIN_TOKEN"] = AdminToken;
        using var stop = new CancellationTokenSource();

        // One instance from options, the other from the environment.
        var first = _first.Start(stop.Token, "network", "serve", "--urls", "http://127.0.0.1:0", "--data", "node-1", "--admin-token", AdminToken, "--postgres", postgres, "--nats", _nats.Url);
        var second = _second.Start(stop.Token, "network", "serve", "--urls", "http://127.0.0.1:0", "--data", "node-2");
        try
        {
            var banners = new[] { await WaitForBannerAsync(first), await WaitForBannerAsync(second) };
            foreach (var banner in banners)
            {
                Assert.Matches($@"Registry\s+PostgreSQL \S+@\S+:\d+/{_database}, schema self_network", banner);
                Assert.Matches($@"Inboxes\s+NATS JetStream {Regex.Escape(_nats.Url)}, stream SELF_INBOX", banner);
                Assert.DoesNotContain(Password, banner, StringComparison.Ordinal);
                Assert.DoesNotContain(AdminToken, banner, StringComparison.Ordinal);
            }

            var apiOnFirst = ApiUrl(banners[0]);
            var apiOnSecond = ApiUrl(banners[1]);
            Assert.NotEqual(apiOnFirst, apiOnSecond);

            // The app lives on the first instance, the user on the second; they know each other through the shared registry.
            var app = await RunJsonAsync("app", "create", "--name", "Shop", "--server", apiOnFirst, "--admin-token", AdminToken, "--json");
            var appId = app.GetProperty("id").GetString()!;
            var user = await RunJsonAsync("user", "create", "--server", apiOnSecond, "--json");
            var selfId = user.GetProperty("id").GetString()!;
            var connect = await _first.RunAsync("user", "connect", appId, "--user", selfId);
            Assert.True(connect.ExitCode == 0, connect.ToString());

            // The request is stored by the first instance and reaches the device on the second; the answer goes back.
            var listen = _first.Start(CancellationToken.None, "user", "listen", "--user", selfId, "--accept", "--count", "1", "--json");
            var request = await _first.RunAsync("auth", "request", selfId, "--app", appId, "--description", "Sign in across instances", "--expiry", "45s", "--json");

            Assert.True(request.ExitCode == 0, request.ToString());
            var outcome = request.JsonLines().Single();
            Assert.Equal("accepted", outcome.GetProperty("status").GetString());
            Assert.Equal(selfId, outcome.GetProperty("self_id").GetString());
            var listened = await listen.Completion.WaitAsync(Patience);
            Assert.True(listened.ExitCode == 0, listened.ToString());
            Assert.Equal("Sign in across instances", listened.JsonLines().Single().GetProperty("description").GetString());
        }
        finally
        {
            await stop.CancelAsync();
        }

        foreach (var serve in new[] { first, second })
        {
            var result = await serve.Completion.WaitAsync(Patience);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("Stopped.", result.Console, StringComparison.Ordinal);
        }

        // The data folders hold no database: everything shared lives in PostgreSQL and NATS.
        Assert.False(File.Exists(Path.Combine(_first.WorkingDirectory, "node-1", SelfNetworkServiceCollectionExtensions.DatabaseFileName)));
        Assert.False(File.Exists(Path.Combine(_second.WorkingDirectory, "node-2", SelfNetworkServiceCollectionExtensions.DatabaseFileName)));
    }

    [Fact]
    public async Task Serve_PostgresWithoutAdminToken_SaysEveryInstanceNeedsTheSameToken()
    {
        var postgres = new NpgsqlConnectionStringBuilder(services.Postgres.ConnectionString) { Database = _database }.ToString();
        using var stop = new CancellationTokenSource();

        var serve = _first.Start(stop.Token, "network", "serve", "--urls", "http://127.0.0.1:0", "--postgres", postgres, "--nats", _nats!.Url);
        var banner = await WaitForBannerAsync(serve);
        await stop.CancelAsync();

        var result = await serve.Completion.WaitAsync(Patience);
        Assert.True(result.ExitCode == 0, result.ToString());
        var tokenFile = Path.Combine(_first.WorkingDirectory, ".self-network", "admin-token");
        Assert.Contains($"Admin token (shown once, kept in {tokenFile})", banner, StringComparison.Ordinal);
        Assert.Contains("Every instance needs the same admin token", banner, StringComparison.Ordinal);
        Assert.True(File.Exists(tokenFile));
    }

    private async Task<JsonElement> RunJsonAsync(params string[] args)
    {
        var result = await _first.RunAsync(args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.JsonLines().Single();
    }

    private static async Task<string> WaitForBannerAsync(RunningCommand command)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (!command.ConsoleText.Contains("Press Ctrl-C to stop.", StringComparison.Ordinal))
        {
            if (command.Completion.IsCompleted)
            {
                throw new InvalidOperationException($"The command ended first: {await command.Completion}");
            }

            await Task.Delay(20, timeout.Token);
        }

        return command.ConsoleText;
    }

    private static string ApiUrl(string banner) => ApiLine().Match(banner) is { Success: true } match
        ? match.Groups[1].Value
        : throw new InvalidOperationException("The banner names no API address:\n" + banner);

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(services.Postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    [GeneratedRegex(@"API\s+(http://\S+)")]
    private static partial Regex ApiLine();
}
