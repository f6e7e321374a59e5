using System.Collections.Immutable;
using System.Threading.Channels;

namespace Self.Messaging;

/// <summary>
/// The subscribers of one kind of event: handlers (awaited one after another, in the order they subscribed) and
/// readers (unbounded channels, written before the handlers run). Subscribing returns an <see cref="IDisposable"/> that
/// removes exactly that subscription; the lists are copied on write, so <see cref="NotifyAsync(T, Action{Exception}, CancellationToken)"/>
/// reads them without a lock. A handler that throws is reported to the caller's <c>failed</c> callback (which logs it)
/// and does not stop the others; a cancellation of the caller's own token does stop them. What the SDK's request
/// tracker, the endpoint and the messenger share. Thread-safe.
/// </summary>
/// <typeparam name="T">What the subscribers hear.</typeparam>
internal sealed class Subscribers<T>
{
    private readonly Lock _gate = new();
    private ImmutableArray<Handler> _handlers = [];
    private ImmutableArray<Reader> _readers = [];
    private bool _completed;

    /// <summary>True when nobody subscribed (no handler, no open reader).</summary>
    public bool IsEmpty
    {
        get
        {
            var (handlers, readers) = (_handlers, _readers);
            return handlers.IsEmpty && readers.IsEmpty;
        }
    }

    /// <summary>Adds a handler; dispose the result to remove it (once; a second dispose does nothing).</summary>
    public IDisposable Subscribe(Func<T, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var subscription = new Handler(this, handler);
        lock (_gate)
        {
            _handlers = _handlers.Add(subscription);
        }

        return subscription;
    }

    /// <summary>
    /// Opens a reader that hears every value from now on; dispose it to stop. After <see cref="Complete"/> the reader
    /// is complete at once.
    /// </summary>
    public Reader OpenReader()
    {
        var reader = new Reader(this, Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true }));
        lock (_gate)
        {
            if (_completed)
            {
                reader.Writer.TryComplete();
                return reader;
            }

            _readers = _readers.Add(reader);
        }

        return reader;
    }

    /// <summary>
    /// Writes <paramref name="value"/> to every reader, then awaits every handler in order. A handler's exception goes
    /// to <paramref name="failed"/>; an <see cref="OperationCanceledException"/> of <paramref name="cancellationToken"/>
    /// is rethrown and stops the rest.
    /// </summary>
    public async ValueTask NotifyAsync(T value, Action<Exception> failed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(failed);
        foreach (var reader in _readers)
        {
            reader.Writer.TryWrite(value);
        }

        foreach (var handler in _handlers)
        {
            try
            {
                await handler.Invoke(value, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                failed(ex);
            }
        }
    }

    /// <summary>Completes every open reader (their streams end) and every reader opened later; handlers stay.</summary>
    public void Complete()
    {
        ImmutableArray<Reader> readers;
        lock (_gate)
        {
            _completed = true;
            readers = _readers;
            _readers = [];
        }

        foreach (var reader in readers)
        {
            reader.Writer.TryComplete();
        }
    }

    private void Remove(Handler handler)
    {
        lock (_gate)
        {
            _handlers = _handlers.Remove(handler);
        }
    }

    private void Remove(Reader reader)
    {
        lock (_gate)
        {
            _readers = _readers.Remove(reader);
        }
    }

    /// <summary>One handler's subscription.</summary>
    private sealed class Handler(Subscribers<T> owner, Func<T, CancellationToken, ValueTask> handler) : IDisposable
    {
        private int _disposed;

        public ValueTask Invoke(T value, CancellationToken cancellationToken) => handler(value, cancellationToken);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Remove(this);
            }
        }
    }

    /// <summary>One reader's subscription: read <see cref="Values"/>, dispose to stop.</summary>
    public sealed class Reader : IDisposable
    {
        private readonly Subscribers<T> _owner;
        private readonly Channel<T> _channel;
        private int _disposed;

        internal Reader(Subscribers<T> owner, Channel<T> channel)
        {
            _owner = owner;
            _channel = channel;
        }

        /// <summary>The values heard since the reader opened; complete after <see cref="Complete"/>.</summary>
        public ChannelReader<T> Values => _channel.Reader;

        internal ChannelWriter<T> Writer => _channel.Writer;

        /// <summary>Stops hearing values.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _owner.Remove(this);
            }
        }
    }
}
