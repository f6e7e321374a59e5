using Npgsql;

namespace Self.Testing.Services;

/// <summary>
/// A throw-away PostgreSQL cluster for the tests: initdb into a temp folder, postgres on a free 127.0.0.1 port, removed
/// afterwards. PostgreSQL refuses to run as root, so as root the server runs as the <c>postgres</c> user that the Debian
/// package creates. <c>SELF_TEST_POSTGRES</c> (a connection string) points the tests at a running server instead.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    public const string MissingPackage =
        "PostgreSQL is not installed: the distributed tests start a real PostgreSQL server and need the Debian package " +
        "'postgresql' (apt-get install -y postgresql), or SELF_TEST_POSTGRES set to the connection string of a running server.";

    private readonly ChildProcess? _process;
    private readonly string? _dataDirectory;
    private readonly string? _binDirectory;

    private PostgresServer(string connectionString, ChildProcess? process, string? dataDirectory, string? binDirectory)
    {
        ConnectionString = connectionString;
        _process = process;
        _dataDirectory = dataDirectory;
        _binDirectory = binDirectory;
    }

    public string ConnectionString { get; }

    public static Task<PostgresServer> StartAsync()
    {
        var external = Environment.GetEnvironmentVariable("SELF_TEST_POSTGRES");
        return string.IsNullOrWhiteSpace(external)
            ? StartAsync(Environment.GetEnvironmentVariable("SELF_TEST_POSTGRES_BIN") ?? FindBinDirectory())
            : Task.FromResult(new PostgresServer(external, null, null, null));
    }

    /// <summary>Starts a cluster with the binaries in <paramref name="bin"/> (initdb, postgres, pg_ctl).</summary>
    public static async Task<PostgresServer> StartAsync(string? bin)
    {
        if (string.IsNullOrWhiteSpace(bin) || !File.Exists(Path.Combine(bin, "initdb")) || !File.Exists(Path.Combine(bin, "postgres")))
        {
            throw new InvalidOperationException(MissingPackage);
        }

        var dataDirectory = Path.Combine(Path.GetTempPath(), "self-pg-" + Guid.NewGuid().ToString("N"));
        await RunAsServiceUserAsync(bin, "initdb", "-D", dataDirectory, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync");

        var port = Machine.FreePort();
        var process = StartAsServiceUser(
            bin,
            "postgres",
            "-D", dataDirectory,
            "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=" + dataDirectory,
            "-c", "fsync=off",
            "-c", "max_connections=300");
        var connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Database = "postgres",
        }.ToString();
        var server = new PostgresServer(connectionString, process, dataDirectory, bin);
        try
        {
            await Machine.WaitForListenerAsync(port, process, "postgres");
            await WaitUntilAcceptingAsync(connectionString, process);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_process is null)
        {
            return;
        }

        if (!_process.HasExited && _binDirectory is not null && _dataDirectory is not null)
        {
            try
            {
                await RunAsServiceUserAsync(_binDirectory, "pg_ctl", "stop", "-D", _dataDirectory, "-m", "immediate", "-w");
            }
            catch (InvalidOperationException)
            {
                // Killed below.
            }
        }

        await _process.DisposeAsync();
        if (_dataDirectory is not null && Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    private static string? FindBinDirectory()
    {
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root))
        {
            return null;
        }

        return Directory.GetDirectories(root)
            .Select(static d => (Directory: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
            .Where(static d => File.Exists(Path.Combine(d.Directory, "postgres")) && File.Exists(Path.Combine(d.Directory, "initdb")))
            .OrderByDescending(static d => d.Version)
            .Select(static d => d.Directory)
            .FirstOrDefault();
    }

    private static Task<string> RunAsServiceUserAsync(string bin, string tool, params string[] arguments) =>
        Environment.IsPrivilegedProcess
            ? ChildProcess.RunAsync(RunUser(), ["-u", "postgres", "--", Path.Combine(bin, tool), .. arguments])
            : ChildProcess.RunAsync(Path.Combine(bin, tool), arguments);

    private static ChildProcess StartAsServiceUser(string bin, string tool, params string[] arguments) =>
        Environment.IsPrivilegedProcess
            ? ChildProcess.Start(RunUser(), ["-u", "postgres", "--", Path.Combine(bin, tool), .. arguments])
            : ChildProcess.Start(Path.Combine(bin, tool), arguments);

    private static string RunUser() =>
        Machine.FindExecutable("runuser", "/usr/sbin/runuser", "/sbin/runuser")
        ?? throw new InvalidOperationException("PostgreSQL refuses to run as root and 'runuser' (Debian package util-linux) is missing.");

    private static async Task WaitUntilAcceptingAsync(string connectionString, ChildProcess process)
    {
        // The port opens a moment before the cluster accepts logins ("the database system is starting up").
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(60);
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync();
                return;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.CannotConnectNow && TimeProvider.System.GetUtcNow() < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }
}
