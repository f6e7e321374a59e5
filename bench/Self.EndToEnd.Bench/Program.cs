// End-to-end benchmark of the Self network on this machine: real server process, real SDK and devices, real crypto and
// storage, all on 127.0.0.1. Prints figures and writes them into docs/performance.md.
//
//   bash scripts/bench.sh [--devices 100] [--apps 1] [--concurrency 32] [--rate 500] [--duration 20] [--idle 10000]
//                         [--smoke] [--no-write]
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Self.EndToEnd.Bench;

if (args is ["--serve", var servePort, var serveData])
{
    return await ServerProcess.ServeAsync(int.Parse(servePort, CultureInfo.InvariantCulture), serveData);
}

if (args is ["--app-instances", ..])
{
    return await AppInstances.RunAsync(args);
}

var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: Self.EndToEnd.Bench [--devices N] [--apps A] [--concurrency C] [--rate R] [--duration S] [--idle I] [--smoke] [--no-write]");
    return 2;
}

void Say(string text) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {text}");

var work = Path.Combine(Path.GetTempPath(), "self-bench-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(work);
var report = new StringBuilder();
try
{
    Say($"crypto ceiling: one round trip's cryptography back to back on one core for {options.CeilingSeconds} s…");
    var ceiling = CryptoCeiling.MeasureRoundTripsPerSecond(TimeSpan.FromSeconds(options.CeilingSeconds));
    Say($"crypto ceiling: {ceiling:F0} round trips/s per core ({1000 / ceiling:F3} ms of CPU each)");

    LatencySummary closed, open;
    TimeSpan serverCpu, wall;
    long serverPeak;
    await using (var server = await ServerProcess.StartAsync(Path.Combine(work, "network")))
    {
        Say($"server process {server.Pid} listening on {server.ApiUrl}");
        await using var trips = await RoundTrips.SetUpAsync(server, Path.Combine(work, "clients"), options.Apps, options.Devices, Say);

        Say("warm-up…");
        await trips.ClosedLoopAsync(Math.Min(8, options.Concurrency), TimeSpan.FromSeconds(options.Smoke ? 2 : 5), _ => { });

        var cpuBefore = server.CpuTime();
        var clock = Stopwatch.StartNew();
        Say($"closed loop: {options.Concurrency} concurrent requests for {options.Duration} s…");
        closed = await trips.ClosedLoopAsync(options.Concurrency, TimeSpan.FromSeconds(options.Duration), Say);
        Say($"closed loop: {closed.PerSecond:F0} round trips/s, p50 {closed.P50:F1} ms, p99 {closed.P99:F1} ms, errors {closed.Errors}");

        Say($"open loop: {options.Rate} requests/s offered for {options.Duration} s…");
        open = await trips.OpenLoopAsync(options.Rate, TimeSpan.FromSeconds(options.Duration), Say);
        Say($"open loop: {open.PerSecond:F0} round trips/s, p50 {open.P50:F1} ms, p99 {open.P99:F1} ms, errors {open.Errors}");
        serverCpu = server.CpuTime() - cpuBefore;
        wall = clock.Elapsed;
        serverPeak = server.Memory().Peak;
    }

    IdleSummary? idle = null;
    if (options.Idle > 0)
    {
        await using var idleServer = await ServerProcess.StartAsync(Path.Combine(work, "idle-network"));
        Say($"idle connections: {options.Idle} on a fresh server process {idleServer.Pid}…");
        idle = await IdleConnections.RunAsync(idleServer, options.Idle, Say);
        Say($"idle connections: {idle.BytesPerConnection / 1024:F1} KB of server memory each; one message to each delivered in {idle.AllDelivered.TotalSeconds:F2} s");
    }

    var cores = Environment.ProcessorCount;
    var ofCeiling = closed.PerSecond / (ceiling * cores) * 100;
    Say($"closed-loop throughput is {ofCeiling:F0} % of the crypto ceiling × {cores} cores");

    var command = "bash scripts/bench.sh " + string.Join(' ', args);
    report.AppendLine("## End-to-end authentication (bench/Self.EndToEnd.Bench)")
        .AppendLine()
        .AppendLine(string.Create(CultureInfo.InvariantCulture, $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC with `{command.Trim()}` on {cores} cores, ") +
            string.Create(CultureInfo.InvariantCulture, $"{GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1073741824.0:F0} GiB, {RuntimeInformation.OSDescription}, .NET {Environment.Version}. ") +
            "Server in its own process (SQLite, WAL, synchronous=FULL); the app SDK and the devices in the benchmark process; " +
            "everything shares the same cores.")
        .AppendLine()
        .AppendLine(CultureInfo.InvariantCulture, $"Setup: {options.Devices} devices (auto-accept, each with its own encrypted store), {options.Apps} app client(s); a round trip is app SDK → network → device → network → app with real Ed25519 signatures, Olm, envelopes and durable storage on every side.")
        .AppendLine()
        .AppendLine("| mode | round trips/s | p50 ms | p90 ms | p99 ms | max ms | completed | errors |")
        .AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|")
        .AppendLine(Row($"closed loop, {options.Concurrency} concurrent", closed))
        .AppendLine(Row($"open loop, {options.Rate}/s offered", open))
        .AppendLine()
        .AppendLine("| figure | value | aim |")
        .AppendLine("|---|---:|---:|")
        .AppendLine(CultureInfo.InvariantCulture, $"| crypto ceiling (one core, back to back) | {ceiling:F0} round trips/s | |")
        .AppendLine(CultureInfo.InvariantCulture, $"| closed loop as share of ceiling × {cores} cores | {ofCeiling:F0} % | ≥ 50 % |")
        .AppendLine(CultureInfo.InvariantCulture, $"| closed loop throughput | {closed.PerSecond:F0} /s | ≥ 2,000 /s |")
        .AppendLine(CultureInfo.InvariantCulture, $"| p99 at {options.Rate}/s offered | {open.P99:F1} ms | ≤ 50 ms at 500/s |")
        .AppendLine(CultureInfo.InvariantCulture, $"| server CPU during both loops | {serverCpu.TotalSeconds:F1} s of {wall.TotalSeconds:F1} s wall ({serverCpu / wall * 100:F0} % of one core) | |")
        .AppendLine(CultureInfo.InvariantCulture, $"| server peak memory (VmHWM) | {serverPeak / 1048576.0:F0} MiB | |");
    if (idle is not null)
    {
        report
            .AppendLine(CultureInfo.InvariantCulture, $"| idle connections held | {idle.Connections:N0} | 10,000 |")
            .AppendLine(CultureInfo.InvariantCulture, $"| server memory per idle connection (RSS delta / connections) | {idle.BytesPerConnection / 1024:F1} KB | ≤ 40 KB |")
            .AppendLine(CultureInfo.InvariantCulture, $"| one message to each idle connection: all acknowledged / all delivered | {idle.AllAcknowledged.TotalSeconds:F2} s / {idle.AllDelivered.TotalSeconds:F2} s | |");
    }

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
    string.Create(CultureInfo.InvariantCulture, $"| {mode} | {s.PerSecond:F0} | {s.P50:F1} | {s.P90:F1} | {s.P99:F1} | {s.Max:F1} | {s.Completed} | {s.Errors} |");
