using System.Collections.Concurrent;

namespace Self.Network.Policy;

/// <summary>A sliding-window rate limit per key (sender→recipient, client address…), on a <see cref="TimeProvider"/>.</summary>
internal sealed class KeyedRateLimiter
{
    private const int SweepEvery = 1024;

    private readonly ConcurrentDictionary<string, SlidingWindow> _windows = new(StringComparer.Ordinal);
    private readonly int _permits;
    private readonly TimeSpan _window;
    private readonly TimeProvider _timeProvider;
    private int _calls;

    /// <summary>At most <paramref name="permits"/> per key in any <paramref name="window"/>; 0 permits turns the limit off.</summary>
    public KeyedRateLimiter(int permits, TimeSpan window, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(permits);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        _permits = permits;
        _window = window;
        _timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
    }

    /// <summary>How many keys are being tracked (for tests and metrics).</summary>
    public int TrackedKeys => _windows.Count;

    /// <summary>
    /// Takes one permit for <paramref name="key"/>. When <paramref name="tag"/> equals the tag of the key's last
    /// successful acquisition and <paramref name="member"/> is one that tag has not covered yet, no permit is used
    /// (one message fanned out to the devices of its recipient). On refusal <paramref name="retryAfter"/> says how long to wait.
    /// </summary>
    public bool TryAcquire(string key, out TimeSpan retryAfter, string? tag = null, string? member = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        retryAfter = TimeSpan.Zero;
        if (_permits == 0)
        {
            return true;
        }

        var now = _timeProvider.GetUtcNow();
        if (Interlocked.Increment(ref _calls) % SweepEvery == 0)
        {
            Sweep(now);
        }

        var window = _windows.GetOrAdd(key, static (_, self) => new SlidingWindow(self._permits, self._window), this);
        lock (window)
        {
            return window.TryAcquire(now, tag, out retryAfter, member);
        }
    }

    /// <summary>Whole seconds to tell a client to wait: rounded up, at least 1.</summary>
    public static int ToRetrySeconds(TimeSpan retryAfter) => Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));

    private void Sweep(DateTimeOffset now)
    {
        // A key whose last acquisition left the window holds no state worth keeping.
        var cutoff = now.UtcTicks - _window.Ticks;
        foreach (var (key, window) in _windows)
        {
            bool idle;
            lock (window)
            {
                idle = window.LastTicks < cutoff;
            }

            if (idle)
            {
                _windows.TryRemove(new KeyValuePair<string, SlidingWindow>(key, window));
            }
        }
    }
}
