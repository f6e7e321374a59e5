using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Self.Protocol.KeyHistory;

namespace Self.Messaging;

/// <summary>
/// Validated key histories (<see cref="SignatureGraph"/>) of other identities, fetched from the server and cached.
/// A cached history is fetched again when it is older than <see cref="MaxAge"/>, when a signature names a kid it
/// does not hold, or when a device has no current key in it. Thread-safe.
/// </summary>
internal sealed class IdentityDirectory
{
    private readonly SelfRestClient _rest;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Entry> _cache = new(StringComparer.Ordinal);

    /// <summary>Creates a directory that fetches through <paramref name="rest"/>.</summary>
    public IdentityDirectory(SelfRestClient rest, TimeProvider? timeProvider = null, TimeSpan? maxAge = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(rest);
        _rest = rest;
        _time = timeProvider ?? TimeProvider.System;
        MaxAge = maxAge ?? TimeSpan.FromMinutes(5);
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>How long a fetched history is used before it is fetched again.</summary>
    public TimeSpan MaxAge { get; }

    /// <summary>The validated history of <paramref name="id"/>, from the cache when fresh.</summary>
    /// <exception cref="SelfApiException">The server does not know the identity (404) or refused the call.</exception>
    /// <exception cref="HistoryValidationException">The server's history of the identity does not validate.</exception>
    public Task<SignatureGraph> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        if (_cache.TryGetValue(id, out var entry) && _time.GetUtcNow() - entry.FetchedAt < MaxAge)
        {
            return Task.FromResult(entry.Graph);
        }

        return RefreshAsync(id, cancellationToken);
    }

    /// <summary>Fetches and validates the history of <paramref name="id"/> now, replacing the cached one.</summary>
    public async Task<SignatureGraph> RefreshAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        var record = await _rest.GetIdentityAsync(id, cancellationToken).ConfigureAwait(false);
        SignatureGraph graph;
        try
        {
            graph = SignatureGraph.Load(record.History);
        }
        catch (HistoryValidationException ex)
        {
            Log.HistoryInvalid(_logger, id, ex.Message);
            throw;
        }

        Log.HistoryFetched(_logger, id, record.History.Count);
        _cache[id] = new Entry(graph, _time.GetUtcNow());
        return graph;
    }

    /// <summary>
    /// The key <paramref name="kid"/> of <paramref name="id"/> if it was valid at <paramref name="atUnixSeconds"/>,
    /// else <see langword="null"/>. An unknown kid makes the directory fetch the history once more first.
    /// </summary>
    public async Task<HistoryKey?> ResolveKeyAsync(string id, string kid, long atUnixSeconds, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(kid);
        var graph = await GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (graph.FindKey(kid) is null)
        {
            graph = await RefreshAsync(id, cancellationToken).ConfigureAwait(false);
        }

        var key = graph.FindKey(kid);
        return key is not null && graph.IsValidAt(kid, atUnixSeconds) ? key : null;
    }

    /// <summary>
    /// The current (active) key of device <paramref name="deviceId"/> of <paramref name="id"/>, or <see langword="null"/>
    /// when the device has none. A device missing from the cached history makes the directory fetch it once more.
    /// </summary>
    public async Task<HistoryKey?> CurrentDeviceKeyAsync(string id, string deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        var graph = await GetAsync(id, cancellationToken).ConfigureAwait(false);
        var key = graph.CurrentDeviceKey(deviceId);
        if (key is null)
        {
            graph = await RefreshAsync(id, cancellationToken).ConfigureAwait(false);
            key = graph.CurrentDeviceKey(deviceId);
        }

        return key;
    }

    /// <summary>Forgets the cached history of <paramref name="id"/>.</summary>
    public void Invalidate(string id) => _cache.TryRemove(id, out _);

    private sealed record Entry(SignatureGraph Graph, DateTimeOffset FetchedAt);
}
