// End-to-end benchmark of the Self network on this machine: real server process, real SDK and devices, real crypto and
// storage, all on 127.0.0.1. Prints figures and writes them into docs/performance.md.
//
//   bash scripts/bench.sh [--devices 100] [--apps 4] [--concurrency 32] [--rate 0 = half the closed loop] [--duration 20]
//                         [--idle 100000] [--queued 100000] [--inboxes 1000] [--smoke] [--no-write]
//   bash scripts/bench.sh --soak [minutes, default 60] [--rate 20] [--devices N] [--apps A]   (steady load; docs/reliability.md)
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Self.EndToEnd.Bench;

if (args is ["--serve", var servePort, var serveData])
{
    return await ServerProcess.ServeAsync(int.Parse(servePort, CultureInfo.InvariantCulture), serveData);
}

if (args is ["--devices-host", ..])
{
    return await DeviceHost.HostAsync(args);
}

if (args is ["--soak-serve", var soakPort, var soakData])
{
    return await Soak.ServeAsync(int.Parse(soakPort, CultureInfo.InvariantCulture), soakData);
}

if (args is ["--app-instances", ..])
{
    return await AppInstances.RunAsync(args);
}

var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: Self.EndToEnd.Bench [--devices N] [--apps A] [--concurrency C] [--rate R] [--duration S] [--idle I] [--queued Q] [--inboxes B] [--smoke] [--no-write] [--soak [minutes]]");
    return 2;
}

void Say(string text) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {text}");

var work = Path.Combine(Path.GetTempPath(), "self-bench-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(work);
var report = new StringBuilder();
try
{
    if (options.Soak > 0)
    {
        return await Soak.RunAsync(options, work, ("bash scripts/bench.sh " + string.Join(' ', args)).Trim(), Say);
    }

    Say($"crypto ceiling: one round trip's cryptography back to back on one core for {options.CeilingSeconds} s…");
    var ceiling = CryptoCeiling.MeasureRoundTripsPerSecond(TimeSpan.FromSeconds(options.CeilingSeconds));
    Say($"crypto ceiling: {ceiling:F0} round trips/s per core ({1000 / ceiling:F3} ms of CPU each)");

    LatencySummary closed, open;
    var scaling = new List<(int Apps, LatencySummary Summary)>();
    PartyCpu cpu;
    string serverPauses, devicePauses, benchPauses;
    int rate;
    long serverPeak;
    await using (var server = await ServerProcess.StartAsync(Path.Combine(work, "network")))
    {
        Say($"server process {server.Pid} listening on {server.ApiUrl}");
        await using var trips = await RoundTrips.SetUpAsync(server, Path.Combine(work, "clients"), options.Apps, options.Devices, Say);

        Say("warm-up…");
        trips.UseClients(trips.AppCount);
        await trips.ClosedLoopAsync(Math.Min(8, options.Concurrency), TimeSpan.FromSeconds(options.Smoke ? 2 : 5), _ => { });

        // The main closed loop: one app client, CPU time of each party (each in its own process) per round trip.
        trips.UseClients(1);
        var before = PartyCpu.Read(server, trips.Devices);
        Say($"closed loop: {options.Concurrency} concurrent requests, 1 app client, for {options.Duration} s…");
        closed = await trips.ClosedLoopAsync(options.Concurrency, TimeSpan.FromSeconds(options.Duration), Say);
        cpu = PartyCpu.Read(server, trips.Devices) - before;
        Say($"closed loop: {closed.PerSecond:F0} round trips/s, p50 {closed.P50:F1} ms, p99 {closed.P99:F1} ms, errors {closed.Errors}");
        Say($"CPU per round trip: server {cpu.Server.TotalMilliseconds / closed.Completed:F3} ms, app SDK (and load) {cpu.App.TotalMilliseconds / closed.Completed:F3} ms, devices {cpu.Devices.TotalMilliseconds / closed.Completed:F3} ms");

        // The open loop at half that throughput (unless --rate), with a pause watch in every process.
        rate = options.Rate > 0 ? options.Rate : Math.Max(1, (int)(closed.PerSecond / 2));
        await server.WatchAsync();
        await trips.Devices.WatchAsync();
        string bench;
        Say($"open loop: {rate} requests/s offered for {options.Duration} s…");
        using (var watch = new PauseWatch())
        {
            open = await trips.OpenLoopAsync(rate, TimeSpan.FromSeconds(options.Duration), Say);
            bench = watch.Summary();
        }

        benchPauses = bench;
        serverPauses = await server.StatsAsync();
        devicePauses = await trips.Devices.StatsAsync();
        Say($"open loop: {open.PerSecond:F0} round trips/s, p50 {open.P50:F1} ms, p99 {open.P99:F1} ms, errors {open.Errors}, longest gap {open.MaxGap:F0} ms ({open.GapsOver200} over 200 ms)");
        Say($"pauses: server {serverPauses}; devices {devicePauses}; app {benchPauses}");

        // App side scaling: the same closed loop with 1, 2, 4, … app clients (separate apps).
        scaling.Add((1, closed));
        for (var apps = 2; apps <= trips.AppCount; apps *= 2)
        {
            trips.UseClients(apps);
            Say($"closed loop: {options.Concurrency} concurrent requests, {apps} app clients, for {options.Duration} s…");
            var row = await trips.ClosedLoopAsync(options.Concurrency, TimeSpan.FromSeconds(options.Duration), Say);
            Say($"closed loop, {apps} app clients: {row.PerSecond:F0} round trips/s, p99 {row.P99:F1} ms");
            scaling.Add((apps, row));
        }

        serverPeak = server.Memory().Peak;
    }

    RestartSummary? restart = null;
    if (options.Queued > 0)
    {
        Say($"restart: {options.Queued:N0} messages queued for {options.Inboxes:N0} offline inboxes…");
        restart = await QueuedRestart.RunAsync(Path.Combine(work, "restart-network"), options.Queued, options.Inboxes, Say);
        Say($"restart: serving again {restart.ServingAgain.TotalSeconds:F2} s after the start; the first device drained {restart.Drained} messages at {restart.DrainPerSecond:F0}/s");
    }

    IdleSummary? idle = null;
    if (options.Idle > 0)
    {
        // Both ends of every connection are on this machine, each process under its own descriptor limit.
        var limit = ProcessStats.OpenFileLimit();
        var tried = Math.Min(options.Idle, Math.Max(100, (int)Math.Min(int.MaxValue, limit - 2_000)));
        if (tried < options.Idle)
        {
            Say($"idle connections: the descriptor limit is {limit} (and cannot be raised here), so {tried} instead of {options.Idle}");
        }

        await using var idleServer = await ServerProcess.StartAsync(Path.Combine(work, "idle-network"));
        Say($"idle connections: {tried} on a fresh server process {idleServer.Pid}…");
        idle = await IdleConnections.RunAsync(idleServer, tried, Say);
        Say($"idle connections: {idle.BytesPerConnection / 1024:F1} KB of server memory each; one message to each delivered in {idle.AllDelivered.TotalSeconds:F2} s");
    }

    var cores = Environment.ProcessorCount;
    var ofCeiling = closed.PerSecond / (ceiling * cores) * 100;
    var best = scaling.MaxBy(r => r.Summary.PerSecond);
    var bestOfCeiling = best.Summary.PerSecond / (ceiling * cores) * 100;
    Say($"closed-loop throughput is {ofCeiling:F0} % of the crypto ceiling × {cores} cores ({bestOfCeiling:F0} % with {best.Apps} app clients)");
    double PerTrip(TimeSpan t) => t.TotalMilliseconds / Math.Max(1, closed.Completed);

    var command = "bash scripts/bench.sh " + string.Join(' ', args);
    report.AppendLine("## End-to-end authentication (bench/Self.EndToEnd.Bench)")
        .AppendLine()
        .AppendLine(string.Create(CultureInfo.InvariantCulture, $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC with `{command.Trim()}` on {cores} cores, ") +
            string.Create(CultureInfo.InvariantCulture, $"{GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1073741824.0:F0} GiB, {RuntimeInformation.OSDescription}, .NET {Environment.Version}. ") +
            "Three processes share the same cores: the server (SQLite, WAL, synchronous=FULL), the devices, and the app SDK " +
            "clients with the load generator.")
        .AppendLine()
        .AppendLine(CultureInfo.InvariantCulture, $"Setup: {options.Devices} devices (auto-accept, each with its own encrypted store) in one process; {options.Apps} separate apps (one SDK client each, its own app device id) in the benchmark process; a round trip is app SDK → network → device → network → app with real Ed25519 signatures, Olm, envelopes and durable storage on every side.")
        .AppendLine()
        .AppendLine("| mode | round trips/s | p50 ms | p90 ms | p99 ms | max ms | completed | errors | longest gap ms |")
        .AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        .AppendLine(Row($"closed loop, {options.Concurrency} concurrent, 1 app client", closed))
        .AppendLine(Row($"open loop, {rate}/s offered ({(options.Rate > 0 ? "--rate" : "half the closed loop")})", open));
    foreach (var (apps, row) in scaling.Skip(1))
    {
        report.AppendLine(Row($"closed loop, {options.Concurrency} concurrent, {apps} app clients", row));
    }

    report
        .AppendLine()
        .AppendLine("| figure | value | aim |")
        .AppendLine("|---|---:|---:|")
        .AppendLine(CultureInfo.InvariantCulture, $"| crypto ceiling (one core, back to back) | {ceiling:F0} round trips/s | |")
        .AppendLine(CultureInfo.InvariantCulture, $"| closed loop (1 app client) as share of ceiling × {cores} cores | {ofCeiling:F0} % | ≥ 50 % |")
        .AppendLine(CultureInfo.InvariantCulture, $"| best closed loop ({best.Apps} app clients) as share of ceiling × {cores} cores | {bestOfCeiling:F0} % | ≥ 50 % |")
        .AppendLine(CultureInfo.InvariantCulture, $"| p99 at half the closed-loop rate ({rate}/s) | {open.P99:F1} ms | ≤ 50 ms |")
        .AppendLine(CultureInfo.InvariantCulture, $"| gaps over 200 ms between completions in the open loop ({options.Duration} s) | {open.GapsOver200} (longest {open.MaxGap:F0} ms) | 0 |")
        .AppendLine(CultureInfo.InvariantCulture, $"| CPU per round trip: server | {PerTrip(cpu.Server):F3} ms | ≤ 0.4 ms |")
        .AppendLine(CultureInfo.InvariantCulture, $"| CPU per round trip: app SDK (with the load generator) | {PerTrip(cpu.App):F3} ms | ≤ 0.5 ms |")
        .AppendLine(CultureInfo.InvariantCulture, $"| CPU per round trip: devices | {PerTrip(cpu.Devices):F3} ms | ≤ 1 ms |")
        .AppendLine(CultureInfo.InvariantCulture, $"| pauses in the open loop, server | {serverPauses} | |")
        .AppendLine(CultureInfo.InvariantCulture, $"| pauses in the open loop, devices | {devicePauses} | |")
        .AppendLine(CultureInfo.InvariantCulture, $"| pauses in the open loop, app SDK | {benchPauses} | |")
        .AppendLine(CultureInfo.InvariantCulture, $"| server peak memory (VmHWM) | {serverPeak / 1048576.0:F0} MiB | |");
    if (restart is not null)
    {
        report
            .AppendLine(CultureInfo.InvariantCulture, $"| restart with {restart.Queued:N0} queued messages over {restart.Inboxes:N0} inboxes: serving again | {restart.ServingAgain.TotalSeconds:F2} s | ≤ 5 s (1,000,000 over 10,000) |")
            .AppendLine(CultureInfo.InvariantCulture, $"| then the first device drains its {restart.Drained} messages | {restart.DrainPerSecond:F0} messages/s ({restart.DrainTime.TotalSeconds:F2} s) | full speed |");
    }

    if (idle is not null)
    {
        report
            .AppendLine(CultureInfo.InvariantCulture, $"| idle connections held (descriptor limit {ProcessStats.OpenFileLimit():N0} per process) | {idle.Connections:N0} of {options.Idle:N0} asked | 100,000 |")
            .AppendLine(CultureInfo.InvariantCulture, $"| server memory per idle connection (RSS delta / connections) | {idle.BytesPerConnection / 1024:F1} KB | ≤ 20 KB |")
            .AppendLine(CultureInfo.InvariantCulture, $"| one message to each idle connection: all acknowledged / all delivered | {idle.AllAcknowledged.TotalSeconds:F2} s / {idle.AllDelivered.TotalSeconds:F2} s | |");
    }

    report.AppendLine()
        .AppendLine("Pause fields: `late` longest lateness of a 10 ms timer thread (ms), `late200` how often it was over 200 ms, " +
            "`gcmax`/`gc200` longest GC pause and pauses over 200 ms, `gcpause` all GC pauses (ms), `gen2` gen-2 collections, " +
            "`threads` most thread-pool threads, `poolmax`/`pool50` the longest wait of work queued to the thread pool every 10 ms (ms) and how many waited over 50 ms, `commitmax` the slowest durable commit (ms: a client store's transaction, or the server's inbox append) and `commit50` how many of them took over 50 ms. App SDK CPU is the benchmark process, which also runs the load generator.");

    if (closed.ErrorKinds.Length > 0 || open.ErrorKinds.Length > 0)
    {
        report.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Errors: closed loop {closed.ErrorKinds}; open loop {open.ErrorKinds}.");
    }

    Console.WriteLine();
    Console.WriteLine(report);
    if (options.Write)
    {
        PerformanceDoc.WriteSection(report.ToString());
        Say("written to docs/performance.md");
    }

    return 0;
}
finally
{
    try
    {
        Directory.Delete(work, recursive: true);
    }
    catch (IOException)
    {
    }
}

static string Row(string mode, LatencySummary s) =>
    string.Create(CultureInfo.InvariantCulture, $"| {mode} | {s.PerSecond:F0} | {s.P50:F1} | {s.P90:F1} | {s.P99:F1} | {s.Max:F1} | {s.Completed} | {s.Errors} | {s.MaxGap:F0} |");

/// <summary>CPU time of each party: the server process, the device process, this process (app SDK and the load).</summary>
internal readonly record struct PartyCpu(TimeSpan Server, TimeSpan Devices, TimeSpan App)
{
    public static PartyCpu Read(ServerProcess server, DeviceHost devices) =>
        new(server.CpuTime(), devices.CpuTime(), ProcessStats.CpuTime(ProcessStats.CurrentPid));

    public static PartyCpu operator -(PartyCpu a, PartyCpu b) => new(a.Server - b.Server, a.Devices - b.Devices, a.App - b.App);
}
