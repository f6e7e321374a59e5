using System.Diagnostics;
using System.Globalization;

namespace Self.EndToEnd.Bench;

/// <summary>CPU time and memory of a process, from /proc (Linux), so that each party's cost is its own.</summary>
internal static class ProcessStats
{
    /// <summary>
    /// Ends a party started with its standard input redirected: closing stdin asks it to stop (each party reads commands
    /// until end of input); one that has not exited within <paramref name="grace"/> is killed.
    /// </summary>
    public static async Task StopAsync(System.Diagnostics.Process process, TimeSpan grace)
    {
        if (!process.HasExited)
        {
            process.StandardInput.Close();
            if (!process.WaitForExit(grace))
            {
                process.Kill(entireProcessTree: true);
            }
        }

        await process.WaitForExitAsync();
        process.Dispose();
    }

    /// <summary>User + system CPU time process <paramref name="pid"/> has used so far.</summary>
    public static TimeSpan CpuTime(int pid)
    {
        // /proc/<pid>/stat fields 14 and 15 (utime, stime) in clock ticks; the name field may hold spaces, so count
        // from the closing parenthesis.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    /// <summary>Resident memory now (VmRSS) and at its peak (VmHWM), in bytes.</summary>
    public static (long Rss, long Peak) Memory(int pid)
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = KiloBytes(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = KiloBytes(line);
            }
        }

        return (rss, peak);
    }

    public static int CurrentPid => Environment.ProcessId;

    /// <summary>This process's soft limit of open files (/proc/self/limits), or long.MaxValue when unlimited.</summary>
    public static long OpenFileLimit()
    {
        foreach (var line in File.ReadLines("/proc/self/limits"))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var soft = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return long.TryParse(soft, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : long.MaxValue;
            }
        }

        return long.MaxValue;
    }

    private static long KiloBytes(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
}

/// <summary>
/// Watches this process for pauses while a phase runs: a 10 ms timer whose ticks come late (a GC suspension, a starved
/// thread pool), each GC's pause durations, thread-pool growth, and the slowest durable commits (the client stores'
/// transactions, <c>self.client.store.commit.duration</c>, and the server's inbox appends,
/// <c>self.network.store.duration</c>): a slow fsync holds every message waiting on that store. Started and read over a
/// child's stdin/stdout too.
/// </summary>
internal sealed class PauseWatch : IDisposable
{
    private readonly System.Diagnostics.Metrics.MeterListener _commits = new();
    private double _maxPoolDelayMs;
    private int _poolDelaysOver50;
    private double _maxCommitMs;
    private int _commitsOver50;
    private long _commitCount;

    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);
    private readonly Thread _thread;
    private readonly Lock _gate = new();
    private volatile bool _stop;
    private long _lastGcIndex;
    private double _maxLateMs;
    private int _lateOver200;
    private double _maxGcPauseMs;
    private int _gcPausesOver200;
    private int _maxThreads;
    private readonly TimeSpan _pauseBefore;
    private readonly int _gen2Before;

    public PauseWatch()
    {
        _pauseBefore = GC.GetTotalPauseDuration();
        _gen2Before = GC.CollectionCount(2);
        _lastGcIndex = GC.GetGCMemoryInfo(GCKind.Any).Index;
        // A plain thread, not the thread pool, so that thread-pool starvation shows as late ticks of the pool's work
        // elsewhere and not as a late watcher.
        _thread = new Thread(Run) { IsBackground = true, Name = "pause-watch", Priority = ThreadPriority.AboveNormal };
        _thread.Start();
        _commits.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name is "self.client.store.commit.duration" or "self.network.store.duration")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _commits.SetMeasurementEventCallback<double>((instrument, seconds, tags, _) =>
        {
            if (instrument.Name == "self.network.store.duration" && !IsAppend(tags))
            {
                return;
            }

            var ms = seconds * 1000;
            lock (_gate)
            {
                _commitCount++;
                _maxCommitMs = Math.Max(_maxCommitMs, ms);
                if (ms > 50)
                {
                    _commitsOver50++;
                }
            }
        });
        _commits.Start();
    }

    private static bool IsAppend(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "operation")
            {
                return tag.Value as string == "append";
            }
        }

        return false;
    }

    public string Summary()
    {
        lock (_gate)
        {
            var pause = GC.GetTotalPauseDuration() - _pauseBefore;
            return string.Create(
                CultureInfo.InvariantCulture,
                $"late={_maxLateMs:F0};late200={_lateOver200};gcmax={_maxGcPauseMs:F0};gc200={_gcPausesOver200};gcpause={pause.TotalMilliseconds:F0};gen2={GC.CollectionCount(2) - _gen2Before};threads={_maxThreads};poolmax={_maxPoolDelayMs:F0};pool50={_poolDelaysOver50};commitmax={_maxCommitMs:F0};commit50={_commitsOver50}/{_commitCount}");
        }
    }

    public void Dispose()
    {
        _commits.Dispose();
        _stop = true;
        _thread.Join();
    }

    private void Run()
    {
        var last = Stopwatch.GetTimestamp();
        while (!_stop)
        {
            Thread.Sleep(Tick);
            var now = Stopwatch.GetTimestamp();
            var lateMs = Stopwatch.GetElapsedTime(last, now).TotalMilliseconds - Tick.TotalMilliseconds;
            last = now;
            // How long work queued to the thread pool waits before it runs (every await's continuation does).
            ThreadPool.UnsafeQueueUserWorkItem(
                static state =>
                {
                    var (watch, queued) = state;
                    var ms = Stopwatch.GetElapsedTime(queued).TotalMilliseconds;
                    lock (watch._gate)
                    {
                        watch._maxPoolDelayMs = Math.Max(watch._maxPoolDelayMs, ms);
                        if (ms > 50)
                        {
                            watch._poolDelaysOver50++;
                        }
                    }
                },
                (this, Stopwatch.GetTimestamp()),
                preferLocal: false);
            var info = GC.GetGCMemoryInfo(GCKind.Any);
            lock (_gate)
            {
                _maxLateMs = Math.Max(_maxLateMs, lateMs);
                if (lateMs > 200)
                {
                    _lateOver200++;
                }

                if (info.Index != _lastGcIndex)
                {
                    _lastGcIndex = info.Index;
                    foreach (var pause in info.PauseDurations)
                    {
                        _maxGcPauseMs = Math.Max(_maxGcPauseMs, pause.TotalMilliseconds);
                        if (pause.TotalMilliseconds > 200)
                        {
                            _gcPausesOver200++;
                        }
                    }
                }

                _maxThreads = Math.Max(_maxThreads, ThreadPool.ThreadCount);
            }
        }
    }
}
