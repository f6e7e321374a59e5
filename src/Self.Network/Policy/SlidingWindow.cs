namespace Self.Network.Policy;

/// <summary>
/// An exact sliding-window limit: at most <c>permits</c> acquisitions in any span of <c>window</c>. Keeps the
/// times of the last <c>permits</c> acquisitions in a ring. Not thread-safe; callers lock.
/// </summary>
internal sealed class SlidingWindow(int permits, TimeSpan window)
{
    /// <summary>How many acquisitions one tag may share (one message copied to each device of a recipient).</summary>
    public const int MaxUsesPerTag = 32;

    /// <summary>The members (recipient devices) the current tag has covered: each at most once.</summary>
    private readonly HashSet<string> _tagMembers = new(StringComparer.Ordinal);

    private readonly long[] _ticks = new long[permits];
    private int _next;
    private int _count;
    private string? _lastTag;

    /// <summary>When the last acquisition happened (UTC ticks), or 0.</summary>
    public long LastTicks { get; private set; }

    /// <summary>
    /// Takes one permit at <paramref name="now"/>. A <paramref name="tag"/> equal to the last successful one takes
    /// none when it names a <paramref name="member"/> that tag has not covered yet, up to <see cref="MaxUsesPerTag"/>
    /// members: the copies of one message (one frame id) to each device of a recipient cost one permit, but the same
    /// frame id sent again to the same device costs a permit every time. On refusal, <paramref name="retryAfter"/>
    /// says when a permit frees up.
    /// </summary>
    public bool TryAcquire(DateTimeOffset now, string? tag, out TimeSpan retryAfter, string? member = null)
    {
        retryAfter = TimeSpan.Zero;
        if (tag is not null && member is not null && _count > 0 && _tagMembers.Count < MaxUsesPerTag
            && string.Equals(tag, _lastTag, StringComparison.Ordinal) && _tagMembers.Add(member))
        {
            return true;
        }

        var nowTicks = now.UtcTicks;
        if (_count == _ticks.Length)
        {
            // The ring is full: _next points at the oldest of the last `permits` acquisitions.
            var oldest = _ticks[_next];
            var freeAt = oldest + window.Ticks;
            if (freeAt > nowTicks)
            {
                retryAfter = TimeSpan.FromTicks(freeAt - nowTicks);
                return false;
            }
        }
        else
        {
            _count++;
        }

        _ticks[_next] = nowTicks;
        _next = (_next + 1) % _ticks.Length;
        _lastTag = tag;
        _tagMembers.Clear();
        if (tag is not null && member is not null)
        {
            _tagMembers.Add(member);
        }

        LastTicks = nowTicks;
        return true;
    }
}
