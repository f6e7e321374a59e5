using System.Collections.Concurrent;

namespace Self.Network.Relay;

/// <summary>
/// The live, authenticated messaging connections of this server, so that shutdown can close them. Which connection
/// serves an address (and superseding, spec §6) is decided by <see cref="Storage.IAddressClaims"/>.
/// </summary>
internal sealed class RelayHub
{
    private readonly ConcurrentDictionary<RelaySession, byte> _sessions = new();
    private readonly CancellationTokenSource _shutdown = new();
    private volatile bool _stopping;

    /// <summary>How many connections are authenticated and open (a superseded one counts until it has closed).</summary>
    public int Count => _sessions.Count;

    /// <summary>Adds an authenticated connection.</summary>
    public void Add(RelaySession session) => _sessions.TryAdd(session, 0);

    /// <summary>Forgets a connection that has ended.</summary>
    public void Remove(RelaySession session) => _sessions.TryRemove(session, out _);

    /// <summary>True once the server is shutting down: new connections are refused.</summary>
    public bool IsStopping => _stopping;

    /// <summary>Cancelled at shutdown: ends connections that have not authenticated yet.</summary>
    public CancellationToken ShutdownToken => _shutdown.Token;

    /// <summary>
    /// Refuses new connections, drops unauthenticated ones and sends every authenticated one a close frame
    /// (1001 "server shutting down"); a peer that does not answer is dropped shortly after.
    /// </summary>
    public async Task CloseAllAsync()
    {
        _stopping = true;
        await _shutdown.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_sessions.Keys.Select(static s => s.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.EndpointUnavailable, "server shutting down"))).ConfigureAwait(false);
    }
}
