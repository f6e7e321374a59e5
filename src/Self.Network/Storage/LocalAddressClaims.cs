using System.Collections.Concurrent;

namespace Self.Network.Storage;

/// <summary>The single-process <see cref="IAddressClaims"/>: the latest claim of an address supersedes the one before.</summary>
internal sealed class LocalAddressClaims : IAddressClaims
{
    private readonly ConcurrentDictionary<string, Entry> _claims = new(StringComparer.Ordinal);

    /// <summary>How many addresses are claimed.</summary>
    public int Count => _claims.Count;

    /// <inheritdoc />
    public IDisposable Claim(string address, Action onSuperseded)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        ArgumentNullException.ThrowIfNull(onSuperseded);
        var entry = new Entry(this, address, onSuperseded);
        Entry? previous = null;
        _claims.AddOrUpdate(
            address,
            entry,
            (_, existing) =>
            {
                previous = existing;
                return entry;
            });
        previous?.Supersede();
        return entry;
    }

    private sealed class Entry(LocalAddressClaims owner, string address, Action onSuperseded) : IDisposable
    {
        private int _ended;

        public void Supersede()
        {
            if (Interlocked.Exchange(ref _ended, 1) == 0)
            {
                onSuperseded();
            }
        }

        public void Dispose()
        {
            Interlocked.Exchange(ref _ended, 1);
            owner._claims.TryRemove(new KeyValuePair<string, Entry>(address, this));
        }
    }
}
