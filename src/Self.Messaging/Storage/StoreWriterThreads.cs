using System.Collections.Concurrent;

namespace Self.Messaging;

/// <summary>
/// The threads that run the stores' write transactions. A commit with <c>synchronous=FULL</c> blocks its thread in
/// <c>fsync</c> for milliseconds; on thread-pool threads, a hundred stores committing at once starved the pool (which
/// then adds a thread only every so often) and stalled everything else in the process. These threads are the
/// process's own, started on first use, and do nothing but commits.
/// </summary>
internal static class StoreWriterThreads
{
    /// <summary>How many transactions of different stores may wait for their fsync at once.</summary>
    public static readonly int Count = Math.Clamp(Environment.ProcessorCount * 8, 8, 64);

    private static readonly BlockingCollection<Action> Work = [];
    private static int _started;

    /// <summary>Runs <paramref name="work"/> on one of the writer threads (it must not throw).</summary>
    public static void Post(Action work)
    {
        if (Volatile.Read(ref _started) == 0 && Interlocked.Exchange(ref _started, 1) == 0)
        {
            for (var i = 0; i < Count; i++)
            {
                new Thread(Run) { IsBackground = true, Name = "self-store-writer-" + i }.Start();
            }
        }

        Work.Add(work);
    }

    private static void Run()
    {
        foreach (var work in Work.GetConsumingEnumerable())
        {
            work();
        }
    }
}
