using System.Buffers.Text;
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
/// <see cref="IAddressClaims"/> across server instances (spec §6: a newer connection for an address supersedes the
/// older one, wherever each landed). A claim is announced on a core NATS subject per address as
/// <c>&lt;stamp&gt; &lt;instance&gt;</c>; every instance listens to all of them with one wildcard subscription taken at
/// start, and closes its own connection for the address when it hears a newer claim.
/// </summary>
/// <remarks>
/// <para>
/// "Newer" is a total order every instance computes alike: by stamp, then by instance id. Stamps come from a hybrid
/// logical clock — the instance's time, but always above every stamp it has issued or heard — so a claim made after
/// another was heard is newer whatever the clocks say. Two claims made at the same moment on two instances (neither
/// heard the other) are ordered by the clocks, which is as good as any order for claims that close together.
/// </para>
/// <para>
/// The outcome depends on the stamps only, not on the order announcements arrive, so two claims racing end with the
/// same winner on every instance. An instance that hears an older claim of an address it holds announces its own
/// again: an instance that missed it (while its NATS connection was away) learns it then. After its own connection
/// comes back, an instance announces all of its claims again for the same reason. Announcements are not echoed to
/// their sender.
/// </para>
/// </remarks>
internal sealed class NatsAddressClaims : IAddressClaims, IHostedService, IAsyncDisposable
{
    private const int ListenerCapacity = 65_536;

    // Stamps are UTC ticks; anything beyond this is not a clock reading and would overflow the clock.
    private const long MaxStamp = long.MaxValue / 2;

    private readonly Dictionary<string, Entry> _claims = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly SelfNatsConnection _nats;
    private readonly string _prefix;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _startGate = new(1, 1);
    private long _clock;
    private INatsSub<ReadOnlyMemory<byte>>? _listener;
    private Task? _listening;
    private int _stopped;
    private int _disposed;

    /// <summary>Announces over <paramref name="nats"/>; call <see cref="StartAsync"/> (the host does) before use.</summary>
    /// <param name="nats">The instance's NATS connection.</param>
    /// <param name="timeProvider">The clock of the stamps (the server's).</param>
    /// <param name="logger">Where to log.</param>
    public NatsAddressClaims(SelfNatsConnection nats, TimeProvider? timeProvider = null, ILogger<NatsAddressClaims>? logger = null)
    {
        _nats = nats ?? throw new ArgumentNullException(nameof(nats));
        _prefix = nats.Options.ClaimSubjectPrefix;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>This instance's id in its announcements: random, new at each start of the process.</summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>How many addresses have a connection on this instance.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _claims.Count;
            }
        }
    }

    /// <inheritdoc />
    public IDisposable Claim(string address, Action onSuperseded)
    {
        ArgumentNullException.ThrowIfNull(onSuperseded);
        var subject = InboxSubjects.For(_prefix, address);
        Entry entry;
        Entry? previous;
        lock (_gate)
        {
            _clock = Math.Max(_time.GetUtcNow().UtcTicks, _clock + 1);
            entry = new Entry(this, subject, _clock, onSuperseded);
            _claims.Remove(subject, out previous);
            _claims[subject] = entry;
        }

        previous?.Supersede();
        Announce(entry.Subject, entry.Stamp);
        return entry;
    }

    /// <summary>Connects and subscribes to every instance's claims; returns once the NATS server has the subscription.</summary>
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
            Log.ClaimsListening(_logger, subjects, InstanceId);
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
                Heard(message.Subject, message.Data.Span);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception ex)
        {
            Log.ClaimsListenerFailed(_logger, ex);
        }
    }

    /// <summary>Another instance claimed the address of <paramref name="subject"/>.</summary>
    private void Heard(string subject, ReadOnlySpan<byte> payload)
    {
        if (!TryParse(payload, out var stamp, out var instance))
        {
            Log.ClaimMalformed(_logger, subject);
            return;
        }

        if (string.Equals(instance, InstanceId, StringComparison.Ordinal))
        {
            return;
        }

        Entry? superseded = null;
        Entry? held = null;
        lock (_gate)
        {
            // Whatever this instance claims from now on is newer than what it has heard.
            _clock = Math.Max(_clock, stamp);
            if (_claims.TryGetValue(subject, out var local))
            {
                if (IsNewer(stamp, instance, local.Stamp, InstanceId))
                {
                    _claims.Remove(subject);
                    superseded = local;
                }
                else
                {
                    held = local;
                }
            }
        }

        if (superseded is not null)
        {
            Log.ClaimSuperseded(_logger, subject, instance);
            superseded.Supersede();
        }
        else if (held is not null)
        {
            // The sender of an older claim has not heard ours (or is racing it): tell it again.
            Announce(held.Subject, held.Stamp);
        }
    }

    private static bool IsNewer(long stamp, string instance, long otherStamp, string otherInstance) =>
        stamp != otherStamp ? stamp > otherStamp : string.CompareOrdinal(instance, otherInstance) > 0;

    private void Announce(string subject, long stamp)
    {
        var payload = Encoding.ASCII.GetBytes(stamp.ToString(CultureInfo.InvariantCulture) + " " + InstanceId);
        ValueTask sent;
        try
        {
            sent = _nats.Connection.PublishAsync<ReadOnlyMemory<byte>>(subject, payload, cancellationToken: _stop.Token);
        }
        catch (Exception ex) when (ex is NatsException or ObjectDisposedException or OperationCanceledException)
        {
            Log.ClaimAnnounceFailed(_logger, subject, ex);
            return;
        }

        if (!sent.IsCompletedSuccessfully)
        {
            _ = ObserveAsync(sent, subject);
        }
    }

    private async Task ObserveAsync(ValueTask sent, string subject)
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
            Log.ClaimAnnounceFailed(_logger, subject, ex);
        }
    }

    private static bool TryParse(ReadOnlySpan<byte> payload, out long stamp, out string instance)
    {
        instance = string.Empty;
        var space = payload.IndexOf((byte)' ');
        if (space <= 0 || space == payload.Length - 1
            || !Utf8Parser.TryParse(payload[..space], out stamp, out var consumed) || consumed != space
            || stamp is < 0 or > MaxStamp)
        {
            stamp = 0;
            return false;
        }

        instance = Encoding.ASCII.GetString(payload[(space + 1)..]);
        return true;
    }

    private ValueTask OnConnectionOpenedAsync(object? sender, NatsEventArgs args)
    {
        // While the connection was away, claims made here or elsewhere may have gone unheard.
        (string Subject, long Stamp)[] held;
        lock (_gate)
        {
            held = [.. _claims.Values.Select(static e => (e.Subject, e.Stamp))];
        }

        foreach (var (subject, stamp) in held)
        {
            Announce(subject, stamp);
        }

        Log.ClaimsAnnouncedAgain(_logger, held.Length);
        return ValueTask.CompletedTask;
    }

    private ValueTask OnMessageDroppedAsync(object? sender, NatsMessageDroppedEventArgs args)
    {
        // A claim must not be lost to a full channel: the event still carries it.
        if (args.Subject.StartsWith(_prefix + ".", StringComparison.Ordinal) && args.Data is ReadOnlyMemory<byte> data)
        {
            Heard(args.Subject, data.Span);
        }

        return ValueTask.CompletedTask;
    }

    private void Release(Entry entry)
    {
        lock (_gate)
        {
            if (_claims.TryGetValue(entry.Subject, out var current) && ReferenceEquals(current, entry))
            {
                _claims.Remove(entry.Subject);
            }
        }
    }

    private sealed class Entry(NatsAddressClaims owner, string subject, long stamp, Action onSuperseded) : IDisposable
    {
        private int _ended;

        public string Subject { get; } = subject;

        public long Stamp { get; } = stamp;

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
            owner.Release(this);
        }
    }
}
