using System.Diagnostics;
using System.Globalization;
using Self.Device;
using Self.Sdk;
using Self.Sdk.Apps;

namespace Self.EndToEnd.Bench;

/// <summary>
/// One app as 1, 2 and 4 instances (docs/app-devices.md) against one server process: the same closed loop of
/// authentications spread round-robin over the instances, each answered by a real device. Prints one markdown row
/// per instance count, with the superseded connections counted (there must be none).
/// </summary>
/// <remarks><c>dotnet Self.EndToEnd.Bench.dll --app-instances [devices] [concurrency] [seconds]</c></remarks>
internal static class AppInstances
{
    public static async Task<int> RunAsync(string[] args)
    {
        int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
        var devices = Arg(1, 20);
        var concurrency = Arg(2, 16);
        var seconds = Arg(3, 10);
        var work = Path.Combine(Path.GetTempPath(), "self-bench-instances-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            await using var server = await ServerProcess.StartAsync(Path.Combine(work, "network"));
            var app = await SelfApps.CreateAsync(server.ApiUrl, ServerProcess.AdminToken, "Bench instances");
            var users = new List<SelfDevice>();
            for (var i = 0; i < devices; i++)
            {
                var device = await SelfDevice.RegisterAsync(new SelfDeviceOptions
                {
                    ServerUrl = server.ApiUrl,
                    MessagingUrl = server.MessagingUrl,
                    StorageDirectory = Path.Combine(work, "device-" + i),
                    StorageKey = "bench-device-storage-key",
                    ConsentPolicy = ConsentPolicies.AlwaysAccept,
                });
                await device.ConnectAsync(app.AppId);
                users.Add(device);
            }

            Console.WriteLine($"| app instances | round trips/s | p50 ms | p99 ms | errors | superseded | ({devices} devices, {concurrency} concurrent, {seconds} s) |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
            foreach (var count in new[] { 1, 2, 4 })
            {
                var clients = new List<SelfClient>();
                var superseded = 0;
                for (var i = 0; i < count; i++)
                {
                    var client = new SelfClient(new SelfClientOptions
                    {
                        AppId = app.AppId,
                        AppSecret = app.Secret,
                        StorageKey = "bench-app-storage-key",
                        StorageDirectory = Path.Combine(work, $"app-{count}-{i}"),
                        ApiUrl = server.ApiUrl,
                        MessagingUrl = server.MessagingUrl,
                        DeviceId = i == 0 ? "1" : $"instance-{i}",
                        DefaultExpiry = TimeSpan.FromMinutes(2),
                    });
                    client.Disconnected += (_, e) =>
                    {
                        if (e.Reason.Contains("supersed", StringComparison.OrdinalIgnoreCase))
                        {
                            Interlocked.Increment(ref superseded);
                        }
                    };
                    await client.StartAsync();
                    clients.Add(client);
                }

                var recorder = new LatencyRecorder();
                var next = 0;
                var clock = Stopwatch.StartNew();
                var end = TimeSpan.FromSeconds(seconds);
                await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
                {
                    while (clock.Elapsed < end)
                    {
                        var n = Interlocked.Increment(ref next);
                        var client = clients[n % clients.Count];
                        var user = users[n % users.Count];
                        var started = Stopwatch.GetTimestamp();
                        try
                        {
                            var response = await client.Authentication.RequestAsync(user.SelfId);
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
                }));
                var summary = recorder.Summarize(clock.Elapsed);
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"| {count} | {summary.PerSecond:F0} | {summary.P50:F1} | {summary.P99:F1} | {summary.Errors} | {superseded} |"));
                foreach (var client in clients)
                {
                    await client.DisposeAsync();
                }
            }

            foreach (var device in users)
            {
                await device.DisposeAsync();
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
                // A file still held open must not fail the run.
            }
        }
    }
}
