using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using Self.Network.Storage;

namespace Self.Network.Nats;

/// <summary>
/// <see cref="IInboxNotifier"/> across server instances. An append is announced to this instance's connections
/// directly and to the other instances on a core NATS subject per address; each instance listens to all of them with
/// one wildcard subscription, taken at start, so no announcement can slip past a connection that has just subscribed.
/// Announcements are at most once: whenever one may have been lost (the NATS connection came back, the client dropped
/// one) the affected connections are told to read their inbox again, which costs a read and loses nothing.
/// </summary>
internal sealed class NatsInboxNotifier : IInboxNotifier, IHostedService, IAsyncDisposable
{
    private const int ListenerCapacity = 65_536;

    private readonly ConcurrentDictionary<string, ImmutableArray<Subscription>> _local = new(StringComparer.Ordinal);
    private readonly SelfNatsConnection _nats;
    private readonly string _prefix;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _startGate = new(1, 1);
    private INatsSub<ReadOnlyMemory<byte>>? _listener;
    private Task? _listening;
    private int _stopped;
    private int _disposed;

    /// <summary>Announces over <paramref name="nats"/>; call <see cref="StartAsync"/> (the host does) before use.</summary>
    public NatsInboxNotifier(SelfNatsConnection nats, ILogger<NatsInboxNotifier>? logger = null)
    {
        _nats = nats ?? throw new ArgumentNullException(nameof(nats));
        _prefix = nats.Options.NotifySubjectPrefix;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <inheritdoc />
    public IDisposable Subscribe(string address, Action<long> onAppended)
    {
        ArgumentNullException.ThrowIfNull(onAppended);
        var subscription = new Subscription(this, InboxSubjects.For(_prefix, address), onAppended);
        _local.AddOrUpdate(subscription.Subject, static (_, s) => [s], static (_, list, s) => list.Add(s), subscription);
        return subscription;
    }

    /// <inheritdoc />
    public void Publish(string address, long offset)
    {
        var subject = InboxSubjects.For(_prefix, address);
        Dispatch(subject, offset);

        var payload = Encoding.ASCII.GetBytes(offset.ToString(CultureInfo.InvariantCulture));
        ValueTask sent;
        try
        {
            sent = _nats.Connection.PublishAsync<ReadOnlyMemory<byte>>(subject, payload, cancellationToken: _stop.Token);
        }
        catch (Exception ex) when (ex is NatsException or ObjectDisposedException or OperationCanceledException)
        {
            Log.NotifyFailed(_logger, address, ex);
            return;
        }

        if (!sent.IsCompletedSuccessfully)
        {
            _ = ObserveAsync(sent, address);
        }
    }

    /// <summary>Connects and subscribes to every instance's announcements; returns once the NATS server has the subscription.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _startGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_listener is not null)
            {
                return;
            }

            await _nats.ConnectAsync(cancellationToken).ConfigureAwait(false);
            _nats.Connection.ConnectionOpened += OnConnectionOpenedAsync;
            _nats.Connection.MessageDropped += OnMessageDroppedAsync;
            var subjects = _prefix + ".>";
            _listener = await _nats.Connection.SubscribeCoreAsync<ReadOnlyMemory<byte>>(
                subjects,
                opts: new NatsSubOpts { ChannelOpts = new NatsSubChannelOpts { Capacity = ListenerCapacity, FullMode = BoundedChannelFullMode.DropOldest } },
                cancellationToken: cancellationToken).ConfigureAwait(false);

            // The ping's answer comes after the server has processed the subscription.
            await _nats.Connection.PingAsync(cancellationToken).ConfigureAwait(false);
            _listening = ListenAsync(_listener);
            Log.NotifierListening(_logger, subjects);
        }
        finally
        {
            _startGate.Release();
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _nats.Connection.ConnectionOpened -= OnConnectionOpenedAsync;
        _nats.Connection.MessageDropped -= OnMessageDroppedAsync;
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        if (_listening is not null)
        {
            await _listening.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // The container may hand this instance out under several services and dispose it for each.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stop.Dispose();
        _startGate.Dispose();
    }

    private async Task ListenAsync(INatsSub<ReadOnlyMemory<byte>> listener)
    {
        try
        {
            await foreach (var message in listener.Msgs.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                // The offset is informative only: a connection reads its inbox from where it is, whatever it says.
                var offset = Utf8Parser.TryParse(message.Data.Span, out long parsed, out _) ? parsed : 0;
                Dispatch(message.Subject, offset);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception ex)
        {
            Log.NotifierFailed(_logger, ex);
        }
    }

    private void Dispatch(string subject, long offset)
    {
        if (_local.TryGetValue(subject, out var list))
        {
            foreach (var subscription in list)
            {
                subscription.Callback(offset);
            }
        }
    }

    private ValueTask OnConnectionOpenedAsync(object? sender, NatsEventArgs args)
    {
        // While the connection was away, announcements from other instances went nowhere.
        var count = 0;
        foreach (var (subject, _) in _local)
        {
            Dispatch(subject, 0);
            count++;
        }

        Log.Reconnected(_logger, count);
        return ValueTask.CompletedTask;
    }

    private ValueTask OnMessageDroppedAsync(object? sender, NatsMessageDroppedEventArgs args)
    {
        if (args.Subject.StartsWith(_prefix + ".", StringComparison.Ordinal))
        {
            Log.NotificationDropped(_logger, args.Subject);
            Dispatch(args.Subject, 0);
        }

        return ValueTask.CompletedTask;
    }

    private async Task ObserveAsync(ValueTask sent, string address)
    {
        try
        {
            await sent.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception ex)
        {
            Log.NotifyFailed(_logger, address, ex);
        }
    }

    private void Remove(Subscription subscription)
    {
        while (_local.TryGetValue(subscription.Subject, out var list))
        {
            var updated = list.Remove(subscription);
            if (updated.IsEmpty
                ? _local.TryRemove(new KeyValuePair<string, ImmutableArray<Subscription>>(subscription.Subject, list))
                : _local.TryUpdate(subscription.Subject, updated, list))
            {
                return;
            }
        }
    }

    private sealed class Subscription(NatsInboxNotifier owner, string subject, Action<long> callback) : IDisposable
    {
        private int _disposed;

        public string Subject { get; } = subject;

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
