using Microsoft.Extensions.Logging;

namespace Self.EndToEnd.Bench;

/// <summary>
/// Logging for the benchmark's parties, off unless <c>SELF_BENCH_LOG</c> names a level (e.g. <c>Warning</c>): then each
/// process writes that level and above to its standard error, prefixed with its party, so a stall can be explained.
/// </summary>
internal static class BenchLogging
{
    public static ILoggerFactory? Create(string party)
    {
        if (!Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("SELF_BENCH_LOG"), ignoreCase: true, out var level))
        {
            return null;
        }

        return LoggerFactory.Create(builder => builder
            .SetMinimumLevel(level)
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = $"HH:mm:ss.fff [{party}] ";
            })
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
    }
}
