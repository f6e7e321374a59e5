using System.Diagnostics;
using System.Globalization;
using Self.Device;

namespace Self.EndToEnd.Bench;

/// <summary>
/// The devices in a process of their own (this program with <c>--devices-host</c>), so that their CPU time is theirs:
/// registers N auto-accepting devices, connects each to the given apps, prints <c>user &lt;id&gt;</c> per device and then
/// <c>ready</c>; <c>watch</c> on stdin starts a pause watch and <c>stats</c> prints what it saw; closing stdin stops.
/// </summary>
internal sealed class DeviceHost : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _users;

    private DeviceHost(Process process, List<string> users)
    {
        _process = process;
        _users = users;
    }

    public int Pid => _process.Id;

    public IReadOnlyList<string> Users => _users;

    public static async Task<int> HostAsync(string[] args)
    {
        // --devices-host <api> <messaging> <folder> <count> <app,app,…>
        var api = new Uri(args[1]);
        var messaging = new Uri(args[2]);
        var folder = args[3];
        var count = int.Parse(args[4], CultureInfo.InvariantCulture);
        var apps = args[5].Split(',', StringSplitOptions.RemoveEmptyEntries);
        var devices = new SelfDevice[count];
        using var logging = BenchLogging.Create("devices");
        using var gate = new SemaphoreSlim(8);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var device = await SelfDevice.RegisterAsync(new SelfDeviceOptions
                {
                    ServerUrl = api,
                    MessagingUrl = messaging,
                    StorageDirectory = Path.Combine(folder, "device-" + i),
                    StorageKey = "bench-device-storage-key",
                    ConsentPolicy = ConsentPolicies.AlwaysAccept,
                    LoggerFactory = logging,
                });
                foreach (var app in apps)
                {
                    await device.ConnectAsync(app);
                }

                devices[i] = device;
            }
            finally
            {
                gate.Release();
            }
        }));

        foreach (var device in devices)
        {
            Console.WriteLine("user " + device.SelfId);
        }

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
        foreach (var device in devices)
        {
            await device.DisposeAsync();
        }

        return 0;
    }

    public static async Task<DeviceHost> StartAsync(Uri api, Uri messaging, string folder, int count, IEnumerable<string> appIds)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                typeof(DeviceHost).Assembly.Location, "--devices-host", api.ToString(), messaging.ToString(), folder,
                count.ToString(CultureInfo.InvariantCulture), string.Join(',', appIds),
            },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the device process");
        var users = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        while (true)
        {
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                ?? throw new InvalidOperationException("the device process ended before it was ready");
            if (line == "ready")
            {
                break;
            }

            if (line.StartsWith("user ", StringComparison.Ordinal))
            {
                users.Add(line[5..]);
            }
        }

        return new DeviceHost(process, users);
    }

    public Task WatchAsync() => _process.StandardInput.WriteLineAsync("watch");

    public async Task<string> StatsAsync()
    {
        await _process.StandardInput.WriteLineAsync("stats");
        await _process.StandardInput.FlushAsync();
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("stats ", StringComparison.Ordinal))
            {
                return line[6..];
            }
        }

        return "none";
    }

    public TimeSpan CpuTime() => ProcessStats.CpuTime(Pid);

    public async ValueTask DisposeAsync()
    {
        await ProcessStats.StopAsync(_process, TimeSpan.FromSeconds(30));
    }
}
