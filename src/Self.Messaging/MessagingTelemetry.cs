using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Self.Messaging;

/// <summary>
/// The client pipeline's instruments, in apps and devices alike, on the meter <see cref="Name"/> (System.Diagnostics
/// only: export them with OpenTelemetry's <c>AddMeter("Self.Messaging")</c>).
/// </summary>
internal static class MessagingTelemetry
{
    /// <summary>The name of the client pipeline's meter.</summary>
    public const string Name = "Self.Messaging";

    private static readonly Meter Meter = new(Name, typeof(MessagingTelemetry).Assembly.GetName().Version?.ToString());

    private static readonly Histogram<double> CommitDuration = Meter.CreateHistogram<double>(
        "self.client.store.commit.duration", "s",
        "One write transaction of a client store, its fsync included: what a send waits for before it leaves and a receive before it is delivered.");

    private static readonly Histogram<long> CommitBatches = Meter.CreateHistogram<long>(
        "self.client.store.commit.batches", "{batch}", "How many callers' batches one write transaction of a client store carried (group commit).");

    /// <summary>Records one committed transaction that started at <paramref name="startTimestamp"/>.</summary>
    internal static void StoreCommitted(long startTimestamp, int batches)
    {
        if (CommitDuration.Enabled)
        {
            CommitDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);
        }

        if (CommitBatches.Enabled)
        {
            CommitBatches.Record(batches);
        }
    }
}
