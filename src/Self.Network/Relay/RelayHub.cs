using System.Collections.Concurrent;

namespace Self.Network.Relay;

/// <summary>
/// The live messaging connections of this server, one per address. A newer connection for an address supersedes
/// the older one (spec §6: the old one is closed with 1011 "connection superseded").
/// </summary>
internal sealed class RelayHub
{
    private readonly ConcurrentDictionary<string, RelaySession> _sessions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _shutdown = new();
    private volatile bool _stopping;

    /// <summary>How many connections are authenticated and open.</summary>
    public int Count => _sessions.Count;

    /// <summary>Makes <paramref name="session"/> the connection of its address; returns the one it replaces.</summary>
    public RelaySession? Register(RelaySession session)
    {
        RelaySession? previous = null;
        _sessions.AddOrUpdate(
            session.Address,
            session,
            (_, existing) =>
            {
                previous = existing;
                return session;
            });
        return ReferenceEquals(previous, session) ? null : previous;
    }

    /// <summary>Forgets <paramref name="session"/> unless a newer connection already took its place.</summary>
    public void Unregister(RelaySession session) =>
        _sessions.TryRemove(new KeyValuePair<string, RelaySession>(session.Address, session));

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
        await Task.WhenAll(_sessions.Values.Select(static s => s.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.EndpointUnavailable, "server shutting down"))).ConfigureAwait(false);
    }
}
