using System.Globalization;

namespace Self.EndToEnd.Bench;

/// <summary>The benchmark's settings; <c>--smoke</c> makes a run that ends in well under a minute.</summary>
internal sealed record BenchOptions
{
    public int Devices { get; init; } = 100;

    /// <summary>The most app clients (separate apps); closed-loop rows for 1, 2, 4, … up to this many.</summary>
    public int Apps { get; init; } = 4;

    public int Concurrency { get; init; } = 32;

    /// <summary>Open-loop rate; 0 = half the closed-loop throughput measured in the same run.</summary>
    public int Rate { get; init; }

    public int Duration { get; init; } = 20;

    public int Idle { get; init; } = 100_000;

    /// <summary>Messages queued for offline devices before the server restarts (0 = skip that phase).</summary>
    public int Queued { get; init; } = 100_000;

    /// <summary>How many inboxes the queued messages are spread over.</summary>
    public int Inboxes { get; init; } = 1_000;

    public int CeilingSeconds { get; init; } = 3;

    public bool Smoke { get; init; }

    public bool Write { get; init; } = true;

    /// <summary>Soak mode: minutes of steady open-loop load (0 = the normal benchmark); see Soak.cs.</summary>
    public int Soak { get; init; }

    public static BenchOptions? Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            int Next() => i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= 0
                ? v
                : throw new ArgumentException($"{args[i - 1]} takes a whole number");
            try
            {
                options = args[i] switch
                {
                    "--devices" => options with { Devices = Math.Max(1, Next()) },
                    "--apps" => options with { Apps = Math.Max(1, Next()) },
                    "--concurrency" => options with { Concurrency = Math.Max(1, Next()) },
                    "--rate" => options with { Rate = Math.Max(1, Next()) },
                    "--duration" => options with { Duration = Math.Max(1, Next()) },
                    "--idle" => options with { Idle = Next() },
                    "--queued" => options with { Queued = Next() },
                    "--inboxes" => options with { Inboxes = Math.Max(1, Next()) },
                    "--smoke" => options with { Smoke = true, Devices = 10, Apps = 2, Concurrency = 8, Duration = 5, Idle = 200, Queued = 200, Inboxes = 10, CeilingSeconds = 1, Write = false },
                    "--no-write" => options with { Write = false },
                    "--soak" => options with { Soak = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? Math.Max(1, Next()) : 60 },
                    _ => throw new ArgumentException($"unknown option {args[i]}"),
                };
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine(ex.Message);
                return null;
            }
        }

        return options;
    }
}
