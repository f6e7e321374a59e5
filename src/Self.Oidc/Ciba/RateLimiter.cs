using System.Collections.Concurrent;

namespace Self.Oidc.Ciba;

/// <summary>
/// A sliding one-minute window per key (client or user), on the injected clock so tests need not wait. Per instance:
/// with N instances behind a balancer a key gets up to N times the limit.
/// </summary>
internal sealed class RateLimiter(TimeProvider time)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _hits = new();

    /// <summary>Counts a hit for <paramref name="key"/> unless it would exceed <paramref name="limit"/>; returns when to retry, else null.</summary>
    public TimeSpan? TryAcquire(string key, int limit)
    {
        var now = time.GetUtcNow();
        var hits = _hits.GetOrAdd(key, static _ => new Queue<DateTimeOffset>());
        lock (hits)
        {
            while (hits.Count > 0 && now - hits.Peek() >= Window)
            {
                hits.Dequeue();
            }

            if (hits.Count >= limit)
            {
                return hits.Peek() + Window - now;
            }

            hits.Enqueue(now);
            return null;
        }
    }
}
