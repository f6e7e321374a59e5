using System.Globalization;

namespace Self.EndToEnd.Bench;

/// <summary>The benchmark's settings; <c>--smoke</c> makes a run that ends in well under a minute.</summary>
internal sealed record BenchOptions
{
    public int Devices { get; init; } = 100;

    public int Apps { get; init; } = 1;

    public int Concurrency { get; init; } = 32;

    public int Rate { get; init; } = 500;

    public int Duration { get; init; } = 20;

    public int Idle { get; init; } = 10_000;

    public int CeilingSeconds { get; init; } = 3;

    public bool Smoke { get; init; }

    public bool Write { get; init; } = true;

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
                    "--smoke" => options with { Smoke = true, Devices = 10, Concurrency = 8, Rate = 100, Duration = 5, Idle = 200, CeilingSeconds = 1, Write = false },
                    "--no-write" => options with { Write = false },
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
