using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Self.Network;

namespace Self.EndToEnd.Bench;

/// <summary>
/// The network in a process of its own (this program with <c>--serve</c>), so that its CPU time and memory are its own
/// and can be read from /proc.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    public const string AdminToken = "bench-admin-token-0123456789abcdef";

    private readonly Process _process;

    private ServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public int Pid => _process.Id;

    public Uri ApiUrl => new($"http://127.0.0.1:{Port}/");

    public Uri MessagingUrl => new($"ws://127.0.0.1:{Port}/v2/messaging");

    /// <summary>Runs the server in this process until stdin closes (the parent's side of the pipe).</summary>
    public static async Task<int> ServeAsync(int port, string data)
    {
        await using var server = await SelfNetworkServer.StartAsync(new SelfNetworkOptions
        {
            Urls = $"http://127.0.0.1:{port}",
            DataDirectory = data,
            AdminToken = AdminToken,
            // The benchmark drives far more traffic between one app and each user than the per-user policy allows.
            RateLimits = new RateLimitOptions { MessagesPerRecipient = 0, FramesPerConnection = 0, IdentitiesPerClient = 0 },
        }, BenchLogging.Create("server"));
        Console.WriteLine("ready");
        PauseWatch? watch = null;
        while (await Console.In.ReadLineAsync() is { } line)
        {
            switch (line)
            {
                case "watch":
                    watch?.Dispose();
                    watch = new PauseWatch();
                    break;
                case "stats":
                    Console.WriteLine("stats " + (watch?.Summary() ?? "none"));
                    break;
            }
        }

        watch?.Dispose();
        return 0;
    }

    public static async Task<ServerProcess> StartAsync(string data)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { typeof(ServerProcess).Assembly.Location, "--serve", port.ToString(CultureInfo.InvariantCulture), data },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.Environment["DOTNET_gcServer"] = "1";
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the server process");
        var ready = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (ready != "ready")
        {
            throw new InvalidOperationException($"the server process said '{ready}' instead of 'ready'");
        }

        return new ServerProcess(process, port);
    }

    /// <summary>User + system CPU time the server has used so far.</summary>
    public TimeSpan CpuTime() => ProcessStats.CpuTime(Pid);

    /// <summary>Resident memory now (VmRSS) and at its peak (VmHWM), in bytes.</summary>
    public (long Rss, long Peak) Memory() => ProcessStats.Memory(Pid);

    /// <summary>Starts a pause watch in the server process.</summary>
    public Task WatchAsync() => _process.StandardInput.WriteLineAsync("watch");

    /// <summary>What the server's pause watch saw since <see cref="WatchAsync"/>.</summary>
    public async Task<string> StatsAsync()
    {
        await _process.StandardInput.WriteLineAsync("stats");
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("stats ", StringComparison.Ordinal))
            {
                return line[6..];
            }
        }

        return "none";
    }

    public async ValueTask DisposeAsync()
    {
        await ProcessStats.StopAsync(_process, TimeSpan.FromSeconds(10));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
