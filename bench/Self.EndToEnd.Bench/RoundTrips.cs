using System.Diagnostics;
using Self.Sdk;
using Self.Sdk.Apps;
using Self.Sdk.Authentication;

namespace Self.EndToEnd.Bench;

/// <summary>
/// Real authentication round trips: app SDK → network → device → network → app, with real signatures, Olm sessions and
/// durable storage on both ends, over real sockets on 127.0.0.1.
/// </summary>
internal sealed class RoundTrips : IAsyncDisposable
{
    private readonly List<SelfClient> _clients = [];
    private DeviceHost? _devices;
    private long _next;
    private int _activeClients = 1;

    private RoundTrips()
    {
    }

    private static Microsoft.Extensions.Logging.ILoggerFactory? Logging { get; } = BenchLogging.Create("app");

    /// <summary>The process that runs the devices.</summary>
    public DeviceHost Devices => _devices!;

    /// <summary>How many app clients exist (separate apps, each with its own app device id).</summary>
    public int AppCount => _clients.Count;

    /// <summary>
    /// Sets up <paramref name="apps"/> separate apps, each with its own SDK client in this process, and
    /// <paramref name="devices"/> devices in a process of their own, each connected to every app.
    /// </summary>
    public static async Task<RoundTrips> SetUpAsync(ServerProcess server, string folder, int apps, int devices, Action<string> progress)
    {
        var bench = new RoundTrips();
        var created = new List<CreatedApp>();
        for (var i = 0; i < apps; i++)
        {
            var app = await SelfApps.CreateAsync(server.ApiUrl, ServerProcess.AdminToken, $"Bench app {i + 1}");
            created.Add(app);
            var client = new SelfClient(new SelfClientOptions
            {
                AppId = app.AppId,
                AppSecret = app.Secret,
                StorageKey = "bench-app-storage-key",
                StorageDirectory = Path.Combine(folder, "app-" + i),
                ApiUrl = server.ApiUrl,
                MessagingUrl = server.MessagingUrl,
                DefaultExpiry = TimeSpan.FromMinutes(2),
                LoggerFactory = Logging,
            });
            await client.StartAsync();
            bench._clients.Add(client);
        }

        progress($"registering {devices} devices in their own process, each connected to {apps} app(s)…");
        bench._devices = await DeviceHost.StartAsync(server.ApiUrl, server.MessagingUrl, Path.Combine(folder, "devices"), devices, created.Select(a => a.AppId));
        progress($"device process {bench._devices.Pid}: {bench._devices.Users.Count} devices ready");
        return bench;
    }

    /// <summary>Uses the first <paramref name="count"/> app clients from now on (round robin).</summary>
    public void UseClients(int count) => _activeClients = Math.Clamp(count, 1, _clients.Count);

    /// <summary>One request, round robin over the users and the active app clients; returns the response or throws.</summary>
    public async Task<AuthenticationResponse> OneAsync()
    {
        var n = Interlocked.Increment(ref _next);
        var clients = _activeClients;
        var client = _clients[(int)(n % clients)];
        var users = _devices!.Users;
        var user = users[(int)(n / clients % users.Count)];
        return await client.Authentication.RequestAsync(user);
    }

    /// <summary>Closed loop: <paramref name="concurrency"/> callers, each sending its next request when the last one ends.</summary>
    public async Task<LatencySummary> ClosedLoopAsync(int concurrency, TimeSpan duration, Action<string> progress)
    {
        var recorder = new LatencyRecorder();
        var watch = Stopwatch.StartNew();
        using var ticker = Ticker(recorder, watch, progress);
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (watch.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                await MeasureAsync(recorder, started);
            }
        }));
        return recorder.Summarize(watch.Elapsed);
    }

    /// <summary>
    /// Open loop: requests start on a fixed schedule of <paramref name="rate"/> per second whatever the answers do;
    /// latency counts from the scheduled start, so queueing is not hidden (no coordinated omission).
    /// </summary>
    public async Task<LatencySummary> OpenLoopAsync(int rate, TimeSpan duration, Action<string> progress)
    {
        var recorder = new LatencyRecorder();
        var watch = Stopwatch.StartNew();
        using var ticker = Ticker(recorder, watch, progress);
        var total = (int)(rate * duration.TotalSeconds);
        var inFlight = new List<Task>(total);
        var origin = Stopwatch.GetTimestamp();
        for (var i = 0; i < total; i++)
        {
            var scheduled = origin + (long)(i * (double)Stopwatch.Frequency / rate);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), scheduled);
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait);
            }

            inFlight.Add(MeasureAsync(recorder, scheduled));
        }

        await Task.WhenAll(inFlight);
        return recorder.Summarize(watch.Elapsed);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        if (_devices is not null)
        {
            await _devices.DisposeAsync();
        }
    }

    private async Task MeasureAsync(LatencyRecorder recorder, long started)
    {
        try
        {
            var response = await OneAsync();
            if (response.Accepted)
            {
                recorder.Record(Stopwatch.GetElapsedTime(started));
            }
            else
            {
                recorder.Fail(response.Status.ToString());
            }
        }
        catch (Exception ex)
        {
            recorder.Fail(ex.GetType().Name);
        }
    }

    private static Timer Ticker(LatencyRecorder recorder, Stopwatch watch, Action<string> progress) =>
        new(_ => progress($"  {watch.Elapsed.TotalSeconds,5:F0} s: {recorder.Completed} completed, {recorder.Errors} errors"), null, 5000, 5000);
}
