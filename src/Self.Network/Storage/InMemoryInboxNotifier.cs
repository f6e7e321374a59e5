using System.Collections.Concurrent;
using System.Collections.Immutable;

namespace Self.Network.Storage;

/// <summary>The single-process <see cref="IInboxNotifier"/>.</summary>
internal sealed class InMemoryInboxNotifier : IInboxNotifier
{
    private readonly ConcurrentDictionary<string, ImmutableArray<Subscription>> _subscriptions = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public IDisposable Subscribe(string address, Action<long> onAppended)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(onAppended);
        var subscription = new Subscription(this, address, onAppended);
        _subscriptions.AddOrUpdate(address, static (_, s) => [s], static (_, list, s) => list.Add(s), subscription);
        return subscription;
    }

    /// <inheritdoc />
    public void Publish(string address, long offset)
    {
        if (_subscriptions.TryGetValue(address, out var list))
        {
            foreach (var subscription in list)
            {
                subscription.Callback(offset);
            }
        }
    }

    private void Remove(Subscription subscription)
    {
        while (_subscriptions.TryGetValue(subscription.Address, out var list))
        {
            var updated = list.Remove(subscription);
            if (updated.IsEmpty
                ? _subscriptions.TryRemove(new KeyValuePair<string, ImmutableArray<Subscription>>(subscription.Address, list))
                : _subscriptions.TryUpdate(subscription.Address, updated, list))
            {
                return;
            }
        }
    }

    private sealed class Subscription(InMemoryInboxNotifier owner, string address, Action<long> callback) : IDisposable
    {
        private int _disposed;

        public string Address { get; } = address;

        public Action<long> Callback { get; } = callback;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Remove(this);
            }
        }
    }
}
