using System.Collections.Concurrent;

namespace Self.Network.Relay;

/// <summary>
/// The live, authenticated messaging connections of this server, so that shutdown can close them. Which connection
/// serves an address (and superseding, spec §6) is decided by <see cref="Storage.IAddressClaims"/>.
/// </summary>
internal sealed class RelayHub
{
    private readonly ConcurrentDictionary<RelaySession, byte> _sessions = new();
    private readonly ConcurrentDictionary<string, RelaySession> _delivering = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _shutdown = new();
    private volatile bool _stopping;

    /// <summary>How many connections are authenticated and open (a superseded one counts until it has closed).</summary>
    public int Count => _sessions.Count;

    /// <summary>Adds an authenticated connection.</summary>
    public void Add(RelaySession session) => _sessions.TryAdd(session, 0);

    /// <summary>Forgets a connection that has ended.</summary>
    public void Remove(RelaySession session)
    {
        _sessions.TryRemove(session, out _);
        _delivering.TryRemove(new KeyValuePair<string, RelaySession>(session.Address, session));
    }

    /// <summary>Marks <paramref name="session"/> as the one delivering its address's inbox on this server (the newest wins).</summary>
    public void Delivering(RelaySession session) => _delivering[session.Address] = session;

    /// <summary>
    /// What the connection delivering <paramref name="address"/> on this server has sent of the inbox and its client
    /// has not yet confirmed (the confirmation is the offset of its next Auth): messages still stored, but no longer
    /// waiting. Zero when no connection of this server delivers that inbox.
    /// </summary>
    public (long Messages, long Bytes) DeliveredUnconfirmed(string address) =>
        _delivering.TryGetValue(address, out var session) ? session.DeliveredUnconfirmed : (0, 0);

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
