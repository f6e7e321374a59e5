using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Self.Network;
using Self.Sdk;
using Self.Sdk.Apps;

namespace Self.EndToEnd.Bench;

/// <summary>
/// Soak mode (<c>--soak [minutes]</c>, default 60): a steady open-loop load of authentication round trips for the given
/// time, and once a minute the server's resident memory, its GC heap after the last collection, and the completions and
/// errors of that minute. At the end a table, and whether memory stayed within ±10 % of the first minute after the
/// warm-up and no request failed; written into docs/reliability.md between the soak markers.
/// </summary>
internal static class Soak
{
    private const string Start = "<!-- soak: start -->";
    private const string End = "<!-- soak: end -->";
    private const int DefaultRate = 20;
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    /// <summary>The server process of the soak: the bench's server settings, answering "heap" on stdin.</summary>
    public static async Task<int> ServeAsync(int port, string data)
    {
        await using var server = await SelfNetworkServer.StartAsync(new SelfNetworkOptions
        {
            Urls = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            DataDirectory = data,
            AdminToken = ServerProcess.AdminToken,
            RateLimits = new RateLimitOptions { MessagesPerRecipient = 0, FramesPerConnection = 0, IdentitiesPerClient = 0 },
        });
        Console.WriteLine("ready");
        while (await Console.In.ReadLineAsync() is { } line)
        {
            if (line == "heap")
            {
                var info = GC.GetGCMemoryInfo(GCKind.Any);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"heap {info.HeapSizeBytes} {GC.GetTotalMemory(forceFullCollection: false)} {GC.CollectionCount(2)}"));
            }
        }

        return 0;
    }

    public static async Task<int> RunAsync(BenchOptions options, string work, string command, Action<string> say)
    {
        var rate = options.Rate > 0 ? options.Rate : DefaultRate;
        var minutes = options.Soak;
        await using var server = await SoakServer.StartAsync(Path.Combine(work, "soak-network"));
        say($"soak: server process {server.Pid} on {server.ApiUrl}; {options.Apps} app(s), {options.Devices} device(s), {rate} requests/s for {minutes} min");

        var clients = new List<SelfClient>();
        DeviceHost? devices = null;
        try
        {
            var apps = new List<CreatedApp>();
            for (var i = 0; i < options.Apps; i++)
            {
                var app = await SelfApps.CreateAsync(server.ApiUrl, ServerProcess.AdminToken, $"Soak app {i + 1}");
                apps.Add(app);
                var client = new SelfClient(new SelfClientOptions
                {
                    AppId = app.AppId,
                    AppSecret = app.Secret,
                    StorageKey = "soak-app-storage-key",
                    StorageDirectory = Path.Combine(work, "soak-app-" + i.ToString(CultureInfo.InvariantCulture)),
                    ApiUrl = server.ApiUrl,
                    MessagingUrl = server.MessagingUrl,
                    DefaultExpiry = TimeSpan.FromMinutes(2),
                });
                await client.StartAsync();
                clients.Add(client);
            }

            devices = await DeviceHost.StartAsync(server.ApiUrl, server.MessagingUrl, Path.Combine(work, "soak-devices"), options.Devices, apps.Select(static a => a.AppId));
            say($"soak: device process {devices.Pid}: {devices.Users.Count} devices ready");

            var counts = new Counts();
            var rows = new List<Row>();
            var origin = Stopwatch.GetTimestamp();
            var total = (long)(rate * Minute.TotalSeconds * minutes);
            var inFlight = 0L;
            var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var sampling = SampleAsync(server, counts, rows, origin, minutes, say);
            for (long n = 0; n < total; n++)
            {
                // Open loop: each request starts on its slot of the schedule, whatever the answers do.
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), origin + (long)(n * (double)Stopwatch.Frequency / rate));
                if (wait > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(wait);
                }

                Interlocked.Increment(ref inFlight);
                _ = OneAsync(clients[(int)(n % clients.Count)], devices.Users[(int)(n / clients.Count % devices.Users.Count)], counts).ContinueWith(
                    _ =>
                    {
                        if (Interlocked.Decrement(ref inFlight) == 0 && Volatile.Read(ref total) < 0)
                        {
                            drained.TrySetResult();
                        }
                    },
                    TaskScheduler.Default);
            }

            await sampling;
            Volatile.Write(ref total, -1);
            if (Interlocked.Read(ref inFlight) > 0)
            {
                await Task.WhenAny(drained.Task, Task.Delay(TimeSpan.FromMinutes(3)));
            }

            var section = Report(rows, counts, options, rate, command);
            Console.WriteLine();
            Console.WriteLine(section);
            if (options.Write)
            {
                WriteSection(section);
                say("written to docs/reliability.md");
            }

            return 0;
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }

            if (devices is not null)
            {
                await devices.DisposeAsync();
            }
        }
    }

    private static async Task OneAsync(SelfClient client, string user, Counts counts)
    {
        try
        {
            var response = await client.Authentication.RequestAsync(user);
            if (response.Accepted)
            {
                Interlocked.Increment(ref counts.Completed);
            }
            else
            {
                counts.Fail(response.Status.ToString());
            }
        }
        catch (Exception ex)
        {
            counts.Fail(ex.GetType().Name);
        }
    }

    /// <summary>At the end of every minute: the server's memory and what that minute completed.</summary>
    private static async Task SampleAsync(SoakServer server, Counts counts, List<Row> rows, long origin, int minutes, Action<string> say)
    {
        long completedBefore = 0, errorsBefore = 0;
        for (var minute = 1; minute <= minutes; minute++)
        {
            var wait = Minute * minute - Stopwatch.GetElapsedTime(origin);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            var (heap, _) = await server.HeapAsync();
            var completed = Interlocked.Read(ref counts.Completed);
            var errors = Interlocked.Read(ref counts.Errors);
            var row = new Row(minute, server.Rss(), heap, completed - completedBefore, errors - errorsBefore);
            rows.Add(row);
            (completedBefore, errorsBefore) = (completed, errors);
            say(string.Create(CultureInfo.InvariantCulture, $"soak: minute {minute}: RSS {row.Rss / 1048576.0:F1} MiB, GC heap {row.Heap / 1048576.0:F1} MiB, {row.Completed} completed, {row.Errors} errors"));
        }
    }

    private static string Report(List<Row> rows, Counts counts, BenchOptions options, int rate, string command)
    {
        // The first minute is the warm-up (JIT, pools, caches); the minute after it is the baseline.
        var settled = rows.Skip(1).ToList();
        var baseline = settled.FirstOrDefault() ?? rows[^1];
        static bool Within(IEnumerable<long> values, long baseline) => values.All(v => Math.Abs(v - baseline) <= baseline / 10);
        var rssFlat = Within(settled.Select(static r => r.Rss), baseline.Rss);
        var heapFlat = Within(settled.Select(static r => r.Heap), baseline.Heap);
        var errors = Interlocked.Read(ref counts.Errors);
        var text = new StringBuilder()
            .AppendLine("### Soak")
            .AppendLine()
            .AppendLine(
                Invariant($"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC with `{command}`: {rate} authentication round trips/s offered (open loop) for {rows.Count} minute(s), ") +
                Invariant($"{options.Apps} app client(s) and {options.Devices} auto-accepting device(s) in their own process, one server process (SQLite), all on {Environment.ProcessorCount} cores of this machine. ") +
                "RSS is the server's VmRSS; GC heap is its heap size after the last collection; both read at the end of each minute.")
            .AppendLine()
            .AppendLine("| minute | server RSS MiB | GC heap MiB | completed | errors |")
            .AppendLine("|---:|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {row.Minute} | {row.Rss / 1048576.0:F1} | {row.Heap / 1048576.0:F1} | {row.Completed} | {row.Errors} |"));
        }

        text.AppendLine()
            .AppendLine(
                Invariant($"After the first minute (warm-up), against minute {baseline.Minute}: RSS {(rssFlat ? "stayed" : "did not stay")} within ±10 % ") +
                Invariant($"({settled.DefaultIfEmpty(baseline).Min(static r => r.Rss) / 1048576.0:F1}–{settled.DefaultIfEmpty(baseline).Max(static r => r.Rss) / 1048576.0:F1} MiB), ") +
                Invariant($"GC heap {(heapFlat ? "stayed" : "did not stay")} within ±10 % ({settled.DefaultIfEmpty(baseline).Min(static r => r.Heap) / 1048576.0:F1}–{settled.DefaultIfEmpty(baseline).Max(static r => r.Heap) / 1048576.0:F1} MiB); ") +
                Invariant($"{Interlocked.Read(ref counts.Completed)} completed, {errors} error(s){(errors > 0 ? " (" + counts.Kinds() + ")" : string.Empty)}."));
        return text.ToString();
    }

    private static void WriteSection(string section)
    {
        string? path = null;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null && path is null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Self.slnx")))
            {
                path = Path.Combine(dir.FullName, "docs", "reliability.md");
            }
        }

        if (path is null)
        {
            throw new DirectoryNotFoundException("run the soak from inside the checkout (Self.slnx not found above the current folder)");
        }

        var text = File.Exists(path) ? File.ReadAllText(path) : "# Reliability and security checks\n\n";
        var block = $"{Start}\n{section.TrimEnd()}\n{End}";
        var from = text.IndexOf(Start, StringComparison.Ordinal);
        var to = text.IndexOf(End, StringComparison.Ordinal);
        text = from >= 0 && to > from ? text[..from] + block + text[(to + End.Length)..] : text.TrimEnd() + "\n\n" + block + "\n";
        File.WriteAllText(path, text);
    }

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);

    private sealed record Row(int Minute, long Rss, long Heap, long Completed, long Errors);

    private sealed class Counts
    {
        private readonly Dictionary<string, int> _kinds = new(StringComparer.Ordinal);
        public long Completed;
        public long Errors;

        public void Fail(string kind)
        {
            Interlocked.Increment(ref Errors);
            lock (_kinds)
            {
                _kinds[kind] = _kinds.GetValueOrDefault(kind) + 1;
            }
        }

        public string Kinds()
        {
            lock (_kinds)
            {
                return string.Join(", ", _kinds.Select(static k => $"{k.Key} {k.Value}"));
            }
        }
    }

    /// <summary>The soak's server as a child process (<c>--soak-serve</c>), with server GC as the bench's server.</summary>
    private sealed class SoakServer : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly SemaphoreSlim _ask = new(1, 1);

        private SoakServer(Process process, int port)
        {
            _process = process;
            ApiUrl = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
            MessagingUrl = new Uri($"ws://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/v2/messaging");
        }

        public int Pid => _process.Id;

        public Uri ApiUrl { get; }

        public Uri MessagingUrl { get; }

        public static async Task<SoakServer> StartAsync(string data)
        {
            int port;
            using (var listener = new TcpListener(IPAddress.Loopback, 0))
            {
                listener.Start();
                port = ((IPEndPoint)listener.LocalEndpoint).Port;
            }

            var start = new ProcessStartInfo("dotnet")
            {
                ArgumentList = { typeof(Soak).Assembly.Location, "--soak-serve", port.ToString(CultureInfo.InvariantCulture), data },
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            start.Environment["DOTNET_gcServer"] = "1";
            var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the soak server process");
            var ready = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            return ready == "ready"
                ? new SoakServer(process, port)
                : throw new InvalidOperationException($"the soak server process said '{ready}' instead of 'ready'");
        }

        public long Rss() => ProcessStats.Memory(Pid).Rss;

        /// <summary>The server's GC heap after its last collection, and the bytes it thinks are allocated now.</summary>
        public async Task<(long AfterLastGc, long Allocated)> HeapAsync()
        {
            await _ask.WaitAsync();
            try
            {
                await _process.StandardInput.WriteLineAsync("heap");
                while (await _process.StandardOutput.ReadLineAsync() is { } line)
                {
                    if (line.StartsWith("heap ", StringComparison.Ordinal))
                    {
                        var parts = line.Split(' ');
                        return (long.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture));
                    }
                }

                throw new InvalidOperationException("the soak server process ended");
            }
            finally
            {
                _ask.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await ProcessStats.StopAsync(_process, TimeSpan.FromSeconds(10));
            _ask.Dispose();
        }
    }
}
