namespace Self.EndToEnd.Bench;

/// <summary>Latencies of completed round trips, and the errors, of one measured phase.</summary>
internal sealed class LatencyRecorder
{
    private readonly List<double> _milliseconds = [];
    private readonly List<long> _completedAt = [];
    private readonly Dictionary<string, int> _errors = [];
    private readonly Lock _gate = new();

    public int Completed
    {
        get
        {
            lock (_gate)
            {
                return _milliseconds.Count;
            }
        }
    }

    public int Errors
    {
        get
        {
            lock (_gate)
            {
                return _errors.Values.Sum();
            }
        }
    }

    public void Record(TimeSpan latency)
    {
        lock (_gate)
        {
            _milliseconds.Add(latency.TotalMilliseconds);
            _completedAt.Add(System.Diagnostics.Stopwatch.GetTimestamp());
        }
    }

    public void Fail(string reason)
    {
        lock (_gate)
        {
            _errors[reason] = _errors.GetValueOrDefault(reason) + 1;
        }
    }

    public LatencySummary Summarize(TimeSpan elapsed)
    {
        lock (_gate)
        {
            var sorted = _milliseconds.Order().ToArray();
            // Stalls: the gaps between consecutive completions.
            var times = _completedAt.Order().ToArray();
            double maxGap = 0;
            var gaps = 0;
            for (var i = 1; i < times.Length; i++)
            {
                var gap = System.Diagnostics.Stopwatch.GetElapsedTime(times[i - 1], times[i]).TotalMilliseconds;
                maxGap = Math.Max(maxGap, gap);
                if (gap > 200)
                {
                    gaps++;
                }
            }

            double At(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
            return new LatencySummary(
                sorted.Length,
                sorted.Length / elapsed.TotalSeconds,
                At(0.50),
                At(0.90),
                At(0.99),
                sorted.Length == 0 ? double.NaN : sorted[^1],
                _errors.Values.Sum(),
                string.Join(", ", _errors.Select(e => $"{e.Key} ×{e.Value}")),
                maxGap,
                gaps);
        }
    }
}

/// <summary>What one phase achieved.</summary>
internal sealed record LatencySummary(int Completed, double PerSecond, double P50, double P90, double P99, double Max, int Errors, string ErrorKinds, double MaxGap, int GapsOver200);
