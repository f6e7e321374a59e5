using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Self.Messaging;
using Self.Sdk.Instances;

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
    private const int SweepEvery = 256;

    private readonly ConcurrentDictionary<string, PendingRequest> _open = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AuthenticationResponse> _recent = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _recentOrder = new();

    // Requests of other instances of the app that this one has reported, kept until they expire: an instance reports
    // each request at most once, even when a second device of the user answers it too.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _endedOther = new(StringComparer.Ordinal);
    private readonly Lock _ownership = new();
    private ConversationIds? _ids;
    private int _sweepCountdown = SweepEvery;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Subscribers<AuthenticationResponse> _subscribers = new();
    private ClientStore? _store;
    private volatile bool _disposed;

    public RequestTracker(TimeProvider time, ILogger logger)
    {
        _time = time;
        _logger = logger;
    }

    /// <summary>Makes and reads the signed conversation ids of this app (set at start).</summary>
    public void UseConversationIds(ConversationIds ids) => _ids = ids;

    /// <summary>A fresh conversation id that every instance of this app can check.</summary>
    public string NewConversationId(string subject, string requestType, DateTimeOffset expires, string? number) =>
        (_ids ?? throw new InvalidOperationException("Call SelfClient.StartAsync first.")).Create(subject, requestType, expires, number);

    /// <summary>
    /// What a signed conversation id of another instance of this app says about its request, while it is open and
    /// this instance has not reported it yet; null otherwise (then the answer is dropped, as for unknown cids).
    /// </summary>
    public PendingRequest? DescribeOther(string cid)
    {
        if (_ids is null || !_ids.TryRead(cid, out var conversation) || conversation.IsOwn || _endedOther.ContainsKey(cid))
        {
            return null;
        }

        // The signed cid carries no iat: the response's own iat is still checked against now and the expiry.
        return new PendingRequest(cid, conversation.SelfId, conversation.RequestType, issuedAt: null, conversation.Expires, conversation.Number, callback: null);
    }

    /// <summary>
    /// Starts waiting here for a request that another instance of this app sent (its answer reaches every instance),
    /// with its own expiry timer; null when the cid is not such a request, has expired or was already reported here.
    /// </summary>
    public PendingRequest? AdoptOther(string cid)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (DescribeOther(cid) is not { } described || described.Expires <= _time.GetUtcNow())
        {
            return null;
        }

        lock (_ownership)
        {
            if (_open.TryGetValue(cid, out var existing))
            {
                return existing;
            }

            if (_endedOther.ContainsKey(cid) || !_open.TryAdd(cid, described))
            {
                return null;
            }
        }

        Arm(described);
        Log.RequestAdopted(_logger, cid);
        return described;
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

    /// <summary>
    /// Opens a request: registered first, so that an answer arriving at once is matched, and stored. With
    /// <paramref name="storeWith"/> the stored row goes into that batch instead (the request's own send commits it in
    /// the same transaction as its sessions, before the request leaves); otherwise it is committed now.
    /// </summary>
    /// <exception cref="ArgumentException">A request with this conversation id is already open.</exception>
    public async Task<PendingRequest> OpenAsync(
        string cid, string selfId, string requestType, DateTimeOffset issuedAt, DateTimeOffset expires, string? number,
        Action<AuthenticationResponse>? callback, CancellationToken cancellationToken, ClientStoreBatch? storeWith = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var pending = new PendingRequest(cid, selfId, requestType, issuedAt, expires, number, callback)
        {
            Started = System.Diagnostics.Stopwatch.GetTimestamp(),
        };
        if (!_open.TryAdd(cid, pending))
        {
            throw new ArgumentException($"Conversation id '{cid}' already names an open request of this app; choose another.", nameof(cid));
        }

        try
        {
            var json = JsonSerializer.Serialize(new StoredRequest(cid, selfId, requestType, expires, number, issuedAt), TrackerJson.Default.StoredRequest);
            if (storeWith is not null)
            {
                storeWith.SaveOpenRequest(cid, json, expires);
            }
            else
            {
                await Store.SaveOpenRequestAsync(cid, json, expires, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            _open.TryRemove(cid, out _);
            throw;
        }

        pending.Activity = Diagnostics.SdkTelemetry.StartRequest(cid);
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
    /// <param name="cid">The request's conversation id.</param>
    /// <param name="response">Its outcome.</param>
    /// <param name="cancellationToken">Cancels the store update.</param>
    /// <param name="includeOtherInstances">Also end a request of another instance of this app that this one does
    /// not wait on (an answer that reached every instance), once.</param>
    /// <param name="storedRowRemoved">The request's stored row was already removed (in the commit of the answer that
    /// ends it), so the store is not touched again.</param>
    public async Task<bool> CompleteAsync(
        string cid, AuthenticationResponse response, CancellationToken cancellationToken = default, bool includeOtherInstances = false,
        bool storedRowRemoved = false)
    {
        PendingRequest? pending;
        lock (_ownership)
        {
            // Every ending takes this lock, so the first caller wins. The outcome is remembered before the request
            // leaves the open set: a lookup that no longer finds it open (Find, then FindEnded) finds its outcome.
            if (_open.TryGetValue(cid, out pending))
            {
                Remember(cid, response);
                _open.TryRemove(cid, out _);
            }
            else
            {
                if (!includeOtherInstances || _disposed || DescribeOther(cid) is not { } described)
                {
                    return false;
                }

                pending = described;
                Remember(cid, response);
            }

            if (_ids is not null && _ids.TryRead(cid, out var conversation) && !conversation.IsOwn)
            {
                _endedOther[cid] = pending.Expires;
                SweepEndedOther();
            }
        }

        pending.DisarmTimer();
        try
        {
            if (_store is not null && !_disposed && !storedRowRemoved)
            {
                await _store.RemoveOpenRequestAsync(cid, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (ObjectDisposedException)
        {
            // Shutting down: the request stays stored and is restored (and ended) on the next start.
        }

        Log.RequestEnded(_logger, cid, response.Status.ToString());
        Diagnostics.SdkTelemetry.EndRequest(response.Status, pending.Started, pending.Activity);
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
        return _subscribers.Subscribe((response, _) => handler(response));
    }

    /// <summary>Outcomes as a stream, from now until the client is disposed or the token is cancelled.</summary>
    public async IAsyncEnumerable<AuthenticationResponse> ReadAsync(
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var reader = _subscribers.OpenReader();
        await foreach (var response in reader.Values.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return response;
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
        _subscribers.Complete();
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

    private void SweepEndedOther()
    {
        if (--_sweepCountdown > 0)
        {
            return;
        }

        _sweepCountdown = SweepEvery;
        var now = _time.GetUtcNow();
        foreach (var (cid, expires) in _endedOther)
        {
            // Past its expiry an answer fails the expiry check anyway.
            if (expires < now)
            {
                _endedOther.TryRemove(cid, out _);
            }
        }
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

    private ValueTask PublishAsync(AuthenticationResponse response) =>
        _subscribers.NotifyAsync(response, ex => Log.HandlerFailed(_logger, response.ConversationId, ex), CancellationToken.None);
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

    /// <summary>The <see cref="System.Diagnostics.Stopwatch"/> timestamp of the request being opened (0 when restored after a restart).</summary>
    public long Started { get; init; }

    /// <summary>The request's span, ended with its outcome.</summary>
    public System.Diagnostics.Activity? Activity { get; set; }

    public void ArmTimer(ITimer timer) => Interlocked.Exchange(ref _timer, timer)?.Dispose();

    public void DisarmTimer() => Interlocked.Exchange(ref _timer, null)?.Dispose();
}

/// <summary>What the store keeps of an open request (encrypted at rest, number included).</summary>
internal sealed record StoredRequest(string Cid, string Sub, string Typ, DateTimeOffset Exp, string? Number = null, DateTimeOffset? Iat = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(StoredRequest))]
internal sealed partial class TrackerJson : JsonSerializerContext;
