namespace Self.Messaging;

/// <summary>
/// The threads that run the stores' write transactions. A commit with <c>synchronous=FULL</c> blocks its thread in
/// <c>fsync</c> for milliseconds; on thread-pool threads, a hundred stores committing at once starved the pool (which
/// then adds a thread only every so often) and stalled everything else in the process. These threads are the
/// process's own, started on first use, and do nothing but commits.
/// </summary>
/// <remarks>
/// An idle thread blocks in <see cref="Monitor.Wait(object)"/>, which does not spin. The queue was a
/// <c>BlockingCollection</c> before, whose <c>SemaphoreSlim</c> spins (<c>sched_yield</c>) before it blocks: with
/// sixteen threads waking for every commit, that spinning was 31–44 % of the app's and the devices' CPU in the
/// benchmark's CPU profile (<c>dotnet-trace collect-linux --profile cpu-sampling</c>).
/// </remarks>
internal static class StoreWriterThreads
{
    /// <summary>How many transactions of different stores may wait for their fsync at once.</summary>
    public static readonly int Count = Math.Clamp(Environment.ProcessorCount * 8, 8, 64);

    private static readonly Queue<Action> Work = new();
    private static readonly object Gate = new();
    private static int _started;
    private static int _idle;

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

        lock (Gate)
        {
            Work.Enqueue(work);
            if (_idle > 0)
            {
                // One item, one thread: waking them all would only send the others back to sleep.
                Monitor.Pulse(Gate);
            }
        }
    }

    private static void Run()
    {
        while (true)
        {
            Action work;
            lock (Gate)
            {
                while (Work.Count == 0)
                {
                    _idle++;
                    Monitor.Wait(Gate);
                    _idle--;
                }

                work = Work.Dequeue();
            }

            work();
        }
    }
}
