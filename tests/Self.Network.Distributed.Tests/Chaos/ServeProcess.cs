using System.Globalization;
using Self.Network.Distributed.Tests.Infrastructure;

namespace Self.Network.Distributed.Tests.Chaos;

/// <summary>
/// One instance of a scaled-out network as its own process — the built CLI's <c>self network serve</c> on PostgreSQL
/// and NATS, configured through the environment — so that a test can kill it with SIGKILL mid-load.
/// </summary>
public sealed class ServeProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly string _directory;

    private ServeProcess(string name, int port, ChildProcess process, string directory)
    {
        Name = name;
        Port = port;
        _process = process;
        _directory = directory;
    }

    public string Name { get; }

    public int Port { get; }

    public bool HasExited => _process.HasExited;

    public string Output => _process.Output;

    /// <summary>Starts the instance and returns once its <c>/readyz</c> (registry and inboxes reachable) answers 200.</summary>
    /// <param name="name">For messages.</param>
    /// <param name="environment">Its <c>SELF_</c> configuration (admin token, PostgreSQL, NATS, limits).</param>
    public static async Task<ServeProcess> StartAsync(string name, IReadOnlyDictionary<string, string> environment)
    {
        var directory = Path.Combine(Path.GetTempPath(), "self-serve-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var port = Machine.FreePort();
        var process = ChildProcess.Start(
            "dotnet",
            environment.Append(new("SELF_HOME", Path.Combine(directory, "home"))),
            Path.Combine(AppContext.BaseDirectory, "self.dll"),
            "network",
            "serve",
            "--urls",
            $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            "--data",
            Path.Combine(directory, "data"));
        var serve = new ServeProcess(name, port, process, directory);
        try
        {
            await serve.WaitUntilReadyAsync();
            return serve;
        }
        catch
        {
            await serve.DisposeAsync();
            throw;
        }
    }

    /// <summary>kill -9.</summary>
    public Task KillAsync() => _process.KillAsync();

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    public override string ToString() => $"{Name} (port {Port})";

    private async Task WaitUntilReadyAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(90);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{this} exited while starting:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/readyz"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (TimeProvider.System.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"{this} was not ready within 90 s:\n{Output}");
            }

            await Task.Delay(100);
        }
    }
}
