using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Self.Messaging;

namespace Self.Sdk.Authentication;

/// <summary>
/// The open authentication requests of one client: kept in the encrypted store (so a restarted app still matches
/// answers to requests it sent before), each with an expiry timer on the <see cref="TimeProvider"/>. Every request
/// ends exactly once — answered, expired or failed — and its outcome goes to the caller that waits (blocking style),
/// its callback (non-blocking style) and every subscriber (asynchronous style).
/// </summary>
internal sealed class RequestTracker : IAsyncDisposable
{
    private const int RecentOutcomes = 1024;

    private readonly ConcurrentDictionary<string, PendingRequest> _open = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AuthenticationResponse> _recent = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _recentOrder = new();
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private ImmutableSubscribers _subscribers = ImmutableSubscribers.Empty;
    private ClientStore? _store;
    private volatile bool _disposed;

    public RequestTracker(TimeProvider time, ILogger logger)
    {
        _time = time;
        _logger = logger;
    }

    /// <summary>Number of requests waiting for an answer.</summary>
    public int OpenCount => _open.Count;

    /// <summary>
    /// Attaches the store and re-opens the requests it holds: those already past their expiry end as expired now, the
    /// others wait again with a fresh timer.
    /// </summary>
    public async Task RestoreAsync(ClientStore store, CancellationToken cancellationToken)
    {
        _store = store;
        var stored = await store.GetOpenRequestsAsync(cancellationToken).ConfigureAwait(false);
        var restored = 0;
        foreach (var entry in stored)
        {
            StoredRequest? record;
            try
            {
                record = JsonSerializer.Deserialize(entry.Json, TrackerJson.Default.StoredRequest);
            }
            catch (JsonException ex)
            {
                Log.DamagedRequest(_logger, entry.ConversationId, ex);
                await store.RemoveOpenRequestAsync(entry.ConversationId, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (record is null || _open.ContainsKey(record.Cid))
            {
                continue;
            }

            var pending = new PendingRequest(record.Cid, record.Sub, record.Typ, record.Iat, record.Exp, record.Number, callback: null);
            if (_open.TryAdd(record.Cid, pending))
            {
                Arm(pending);
                restored++;
            }
        }

        Log.Restored(_logger, restored);
    }

    /// <summary>Opens a request: stored first, so that an answer arriving at once is matched.</summary>
    /// <exception cref="ArgumentException">A request with this conversation id is already open.</exception>
    public async Task<PendingRequest> OpenAsync(
        string cid, string selfId, string requestType, DateTimeOffset issuedAt, DateTimeOffset expires, string? number,
        Action<AuthenticationResponse>? callback, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var pending = new PendingRequest(cid, selfId, requestType, issuedAt, expires, number, callback);
        if (!_open.TryAdd(cid, pending))
        {
            throw new ArgumentException($"Conversation id '{cid}' already names an open request of this app; choose another.", nameof(cid));
        }

        try
        {
            var json = JsonSerializer.Serialize(new StoredRequest(cid, selfId, requestType, expires, number, issuedAt), TrackerJson.Default.StoredRequest);
            await Store.SaveOpenRequestAsync(cid, json, expires, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _open.TryRemove(cid, out _);
            throw;
        }

        Arm(pending);
        return pending;
    }

    /// <summary>The open request with this conversation id, if any.</summary>
    public PendingRequest? Find(string cid) => _open.TryGetValue(cid, out var pending) ? pending : null;

    /// <summary>The outcome of a request that ended recently, if any.</summary>
    public AuthenticationResponse? FindEnded(string cid) => _recent.TryGetValue(cid, out var response) ? response : null;

    /// <summary>
    /// Ends a request with its outcome, once: the first caller wins, later ones (a second device's answer, a late
    /// timer) get false.
    /// </summary>
    public async Task<bool> CompleteAsync(string cid, AuthenticationResponse response, CancellationToken cancellationToken = default)
    {
        if (!_open.TryRemove(cid, out var pending))
        {
            return false;
        }

        pending.DisarmTimer();
        Remember(cid, response);
        try
        {
            if (_store is not null && !_disposed)
            {
                await _store.RemoveOpenRequestAsync(cid, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (ObjectDisposedException)
        {
            // Shutting down: the request stays stored and is restored (and ended) on the next start.
        }

        Log.RequestEnded(_logger, cid, response.Status.ToString());
        pending.Completion.TrySetResult(response);
        if (pending.Callback is { } callback)
        {
            try
            {
                callback(response);
            }
            catch (Exception ex)
            {
                Log.HandlerFailed(_logger, cid, ex);
            }
        }

        await PublishAsync(response).ConfigureAwait(false);
        return true;
    }

    /// <summary>Adds a subscriber that sees the outcome of every request; dispose the result to stop.</summary>
    public IDisposable Subscribe(Func<AuthenticationResponse, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_gate)
        {
            _subscribers = _subscribers.Add(handler);
        }

        return new Subscription(this, handler);
    }

    /// <summary>Outcomes as a stream, from now until the client is disposed or the token is cancelled.</summary>
    public async IAsyncEnumerable<AuthenticationResponse> ReadAsync(
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<AuthenticationResponse>(new UnboundedChannelOptions { SingleReader = true });
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _subscribers = _subscribers.Add(channel);
        }

        try
        {
            await foreach (var response in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return response;
            }
        }
        finally
        {
            lock (_gate)
            {
                _subscribers = _subscribers.Remove(channel);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _disposed = true;
        foreach (var pending in _open.Values)
        {
            pending.DisarmTimer();
            pending.Completion.TrySetException(new ObjectDisposedException(nameof(SelfClient), "The client was disposed before the request ended; it is restored on the next start."));
        }

        _open.Clear();
        ImmutableSubscribers subscribers;
        lock (_gate)
        {
            subscribers = _subscribers;
            _subscribers = ImmutableSubscribers.Empty;
        }

        foreach (var channel in subscribers.Channels)
        {
            channel.Writer.TryComplete();
        }

        return ValueTask.CompletedTask;
    }

    private ClientStore Store => _store ?? throw new InvalidOperationException("Call SelfClient.StartAsync first.");

    private void Arm(PendingRequest pending)
    {
        var due = pending.Expires - _time.GetUtcNow();
        if (due < TimeSpan.Zero)
        {
            due = TimeSpan.Zero;
        }

        pending.ArmTimer(_time.CreateTimer(
            static state =>
            {
                var (tracker, request) = ((RequestTracker, PendingRequest))state!;
                _ = tracker.CompleteAsync(
                    request.ConversationId,
                    new AuthenticationResponse(
                        AuthenticationStatus.Expired,
                        request.SelfId,
                        DeviceId: null,
                        request.ConversationId,
                        $"no answer before the request expired at {request.Expires:u}"));
            },
            (this, pending),
            due,
            Timeout.InfiniteTimeSpan));
    }

    private void Remember(string cid, AuthenticationResponse response)
    {
        _recent[cid] = response;
        _recentOrder.Enqueue(cid);
        while (_recentOrder.Count > RecentOutcomes && _recentOrder.TryDequeue(out var old))
        {
            _recent.TryRemove(old, out _);
        }
    }

    private async ValueTask PublishAsync(AuthenticationResponse response)
    {
        var subscribers = _subscribers;
        foreach (var channel in subscribers.Channels)
        {
            channel.Writer.TryWrite(response);
        }

        foreach (var handler in subscribers.Handlers)
        {
            try
            {
                await handler(response).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.HandlerFailed(_logger, response.ConversationId, ex);
            }
        }
    }

    private void Unsubscribe(Func<AuthenticationResponse, ValueTask> handler)
    {
        lock (_gate)
        {
            _subscribers = _subscribers.Remove(handler);
        }
    }

    private sealed class Subscription(RequestTracker owner, Func<AuthenticationResponse, ValueTask> handler) : IDisposable
    {
        public void Dispose() => owner.Unsubscribe(handler);
    }

    /// <summary>Copy-on-write subscriber lists, read without a lock on the hot path.</summary>
    private sealed record ImmutableSubscribers(
        IReadOnlyList<Func<AuthenticationResponse, ValueTask>> Handlers,
        IReadOnlyList<Channel<AuthenticationResponse>> Channels)
    {
        public static readonly ImmutableSubscribers Empty = new([], []);

        public ImmutableSubscribers Add(Func<AuthenticationResponse, ValueTask> handler) => this with { Handlers = [.. Handlers, handler] };

        public ImmutableSubscribers Add(Channel<AuthenticationResponse> channel) => this with { Channels = [.. Channels, channel] };

        public ImmutableSubscribers Remove(Func<AuthenticationResponse, ValueTask> handler) =>
            this with { Handlers = [.. Handlers.Where(h => h != handler)] };

        public ImmutableSubscribers Remove(Channel<AuthenticationResponse> channel) =>
            this with { Channels = [.. Channels.Where(c => c != channel)] };
    }
}

/// <summary>One request waiting for its answer.</summary>
internal sealed class PendingRequest(
    string cid, string selfId, string requestType, DateTimeOffset? issuedAt, DateTimeOffset expires, string? number,
    Action<AuthenticationResponse>? callback)
{
    private ITimer? _timer;

    public string ConversationId { get; } = cid;

    /// <summary>The user asked, or <c>-</c> when anyone may answer (QR codes, deep links).</summary>
    public string SelfId { get; } = selfId;

    /// <summary>The request's <c>typ</c>; the answer's must be the matching response type.</summary>
    public string RequestType { get; } = requestType;

    /// <summary>The request's <c>iat</c>; an answer older than it (less the skew) is refused. Null for a request stored
    /// before the store kept it.</summary>
    public DateTimeOffset? IssuedAt { get; } = issuedAt;

    public DateTimeOffset Expires { get; } = expires;

    /// <summary>The number the app shows (number matching, spec §9a); only an accepted answer carrying it counts.</summary>
    public string? Number { get; } = number;

    public Action<AuthenticationResponse>? Callback { get; } = callback;

    public TaskCompletionSource<AuthenticationResponse> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ArmTimer(ITimer timer) => Interlocked.Exchange(ref _timer, timer)?.Dispose();

    public void DisarmTimer() => Interlocked.Exchange(ref _timer, null)?.Dispose();
}

/// <summary>What the store keeps of an open request (encrypted at rest, number included).</summary>
internal sealed record StoredRequest(string Cid, string Sub, string Typ, DateTimeOffset Exp, string? Number = null, DateTimeOffset? Iat = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(StoredRequest))]
internal sealed partial class TrackerJson : JsonSerializerContext;
