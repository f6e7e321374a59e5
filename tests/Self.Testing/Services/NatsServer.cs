using System.Globalization;

namespace Self.Testing.Services;

/// <summary>
/// A throw-away nats-server with JetStream for the tests, on a free 127.0.0.1 port with its store in a temp folder.
/// One the tests started can be killed and started again on the same port and store (to test reconnects and
/// durability). <c>SELF_TEST_NATS_URL</c> points the shared server at a running one instead.
/// </summary>
public sealed class NatsServer : IAsyncDisposable
{
    public const string MissingPackage =
        "nats-server is not installed: the distributed tests start a real NATS server with JetStream and need the Debian " +
        "package 'nats-server' (apt-get install -y nats-server), or SELF_TEST_NATS_URL set to a running server (with JetStream and max_payload >= 2MB).";

    private readonly string? _executable;
    private readonly string? _directory;
    private readonly int _port;
    private ChildProcess? _process;

    private NatsServer(string url, string? executable, string? directory, int port)
    {
        Url = url;
        _executable = executable;
        _directory = directory;
        _port = port;
    }

    public string Url { get; }

    public bool CanRestart => _executable is not null;

    /// <summary>The server the tests share: a running one named by <c>SELF_TEST_NATS_URL</c>, or one of their own.</summary>
    public static Task<NatsServer> StartSharedAsync()
    {
        var external = Environment.GetEnvironmentVariable("SELF_TEST_NATS_URL");
        return string.IsNullOrWhiteSpace(external) ? StartAsync() : Task.FromResult(new NatsServer(external, null, null, 0));
    }

    /// <summary>
    /// Starts a server process of the caller's own (one it may kill); <paramref name="maxPayload"/> null keeps
    /// nats-server's default (1 MB).
    /// </summary>
    public static Task<NatsServer> StartAsync(string? maxPayload = "2MB") =>
        StartAsync(Machine.FindExecutable("nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"), maxPayload);

    /// <summary>Starts <paramref name="executable"/> (a nats-server binary).</summary>
    public static async Task<NatsServer> StartAsync(string? executable, string? maxPayload)
    {
        if (executable is null || !File.Exists(executable))
        {
            throw new InvalidOperationException(MissingPackage);
        }

        var directory = Path.Combine(Path.GetTempPath(), "self-nats-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var port = Machine.FreePort();
        var config = $$"""
            listen: "127.0.0.1:{{port.ToString(CultureInfo.InvariantCulture)}}"
            {{(maxPayload is null ? string.Empty : "max_payload: " + maxPayload)}}
            jetstream {
              store_dir: "{{Path.Combine(directory, "jetstream")}}"
            }
            """;
        await File.WriteAllTextAsync(Path.Combine(directory, "nats.conf"), config);
        var server = new NatsServer($"nats://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", executable, directory, port);
        try
        {
            await server.StartProcessAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the server (SIGKILL: no clean shutdown) and starts it again on the same port and store.</summary>
    public async Task KillAndRestartAsync()
    {
        await KillAsync();
        await StartProcessAsync();
    }

    /// <summary>Kills the server (SIGKILL); <see cref="StartAgainAsync"/> brings it back.</summary>
    public async Task KillAsync()
    {
        if (!CanRestart)
        {
            throw new InvalidOperationException("Only a nats-server the tests started can be killed.");
        }

        if (_process is not null)
        {
            await _process.KillAsync();
            await _process.DisposeAsync();
            _process = null;
        }
    }

    public Task StartAgainAsync() => StartProcessAsync();

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        if (_directory is not null && Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private async Task StartProcessAsync()
    {
        _process = ChildProcess.Start(_executable!, "-c", Path.Combine(_directory!, "nats.conf"));
        await Machine.WaitForListenerAsync(_port, _process, "nats-server");
    }
}
