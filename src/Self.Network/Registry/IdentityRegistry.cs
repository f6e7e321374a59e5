using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Self.Network.Http;
using Self.Network.Storage;
using Self.Protocol.Identifiers;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;

namespace Self.Network.Registry;

/// <summary>
/// Registers identities and grows their histories, validating every operation (spec §3) before it is stored, and
/// serves validated histories. Validated graphs are cached per identity and reused while the stored history is
/// unchanged (it is append-only, so its length and last operation identify it).
/// </summary>
internal sealed class IdentityRegistry
{
    private const int MaxCachedGraphs = 10_000;
    private const int MaxIdAttempts = 16;

    private readonly IIdentityStore _identities;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _clockSkew;
    private readonly ILogger<IdentityRegistry> _logger;
    private readonly ConcurrentDictionary<string, RegisteredIdentity> _cache = new(StringComparer.Ordinal);

    /// <summary>Creates the registry over <paramref name="identities"/>.</summary>
    public IdentityRegistry(IIdentityStore identities, SelfNetworkOptions options, ILogger<IdentityRegistry> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _identities = identities ?? throw new ArgumentNullException(nameof(identities));
        _timeProvider = options.TimeProvider;
        _clockSkew = options.TokenClockSkew;
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>The identity with its validated history, or null when the id is not registered.</summary>
    public async ValueTask<RegisteredIdentity?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        var record = await _identities.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return null;
        }

        var operations = await _identities.GetHistoryAsync(id, cancellationToken).ConfigureAwait(false);
        if (_cache.TryGetValue(id, out var cached)
            && cached.Operations.Count == operations.Count
            && string.Equals(cached.Operations[^1], operations[^1], StringComparison.Ordinal))
        {
            return cached;
        }

        var graph = SignatureGraph.Load(operations.Select(FlattenedJws.Parse));
        var identity = new RegisteredIdentity(record, graph, operations);
        Remember(identity);
        return identity;
    }

    /// <summary>Registers a person (spec §5 <c>POST /v1/identities</c>) from a validated history.</summary>
    /// <param name="graph">The validated history; its active devices are registered with it.</param>
    /// <param name="wantedId">A free 10–11 digit Self ID the caller asks for, or null for a fresh 11-digit one.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async ValueTask<RegisteredIdentity> RegisterUserAsync(SignatureGraph graph, string? wantedId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (wantedId is not null)
        {
            if (!SelfIds.IsUserId(wantedId))
            {
                throw ApiException.BadRequest("The wanted id must be 10 or 11 decimal digits.");
            }

            return await CreateAsync(wantedId, IdentityType.Individual, null, null, graph, cancellationToken).ConfigureAwait(false)
                ?? throw ApiException.Conflict($"The Self ID {wantedId} is already registered.", ErrorCodes.IdTaken);
        }

        for (var attempt = 0; attempt < MaxIdAttempts; attempt++)
        {
            var created = await CreateAsync(NewUserId(), IdentityType.Individual, null, null, graph, cancellationToken).ConfigureAwait(false);
            if (created is not null)
            {
                return created;
            }
        }

        throw new InvalidOperationException("No free Self ID was found.");
    }

    /// <summary>Registers an app (spec §5 <c>POST /v1/apps</c>, operator only) with a fresh app id.</summary>
    public async ValueTask<RegisteredIdentity> RegisterAppAsync(string name, string? image, SignatureGraph graph, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(graph);
        for (var attempt = 0; attempt < MaxIdAttempts; attempt++)
        {
            var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            var created = await CreateAsync(id, IdentityType.App, name, image, graph, cancellationToken).ConfigureAwait(false);
            if (created is not null)
            {
                return created;
            }
        }

        throw new InvalidOperationException("No free app id was found.");
    }

    /// <summary>
    /// Validates <paramref name="operation"/> against the identity's history and stores it. Devices that gain a
    /// current key become active; devices left without one stop being active.
    /// </summary>
    /// <exception cref="HistoryValidationException">The operation breaks a rule of spec §3.</exception>
    public async ValueTask<RegisteredIdentity> AppendAsync(RegisteredIdentity identity, FlattenedJws operation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(operation);
        var before = identity.Graph;
        var after = before.Append(operation);
        CheckDeviceIds(after);
        CheckNotInFuture(after);

        var activated = after.ActiveDeviceIds
            .Where(device => !string.Equals(before.CurrentDeviceKey(device)?.Kid, after.CurrentDeviceKey(device)?.Kid, StringComparison.Ordinal))
            .ToArray();
        var deactivated = before.ActiveDeviceIds.Except(after.ActiveDeviceIds, StringComparer.Ordinal).ToArray();
        var json = operation.ToJson();
        var sequence = before.NextSequence;
        if (!await _identities.AppendHistoryAsync(identity.Id, new HistoryAppend(sequence, json, activated, deactivated), cancellationToken).ConfigureAwait(false))
        {
            throw ApiException.Conflict("The history changed while this operation was checked; fetch it again and rebuild the operation.");
        }

        Log.HistoryAppended(_logger, identity.Id, sequence);
        var updated = identity with { Graph = after, Operations = [.. identity.Operations, json] };
        Remember(updated);
        return updated;
    }

    /// <summary>Every device named in a history must be a valid device id (spec §1).</summary>
    internal static void CheckDeviceIds(SignatureGraph graph)
    {
        foreach (var key in graph.Keys)
        {
            if (key.Role == KeyRole.Device && !SelfIds.IsDeviceId(key.DeviceId))
            {
                throw ApiException.BadRequest(
                    $"Key '{key.Kid}' names device '{key.DeviceId}', which is not a valid device id (1-64 characters of [A-Za-z0-9_.-]).",
                    ErrorCodes.InvalidHistory);
            }
        }
    }

    /// <summary>
    /// No operation may be dated later than now plus the allowed clock skew: a key "added" years ahead would sit in the
    /// history as a trap, and timestamps must keep increasing, so a far-future one would block every later operation.
    /// </summary>
    private void CheckNotInFuture(SignatureGraph graph)
    {
        var latest = _timeProvider.GetUtcNow() + _clockSkew;
        if (graph.LastTimestamp > latest.ToUnixTimeSeconds())
        {
            throw ApiException.BadRequest(
                $"An operation is dated {graph.LastTimestamp} (unix seconds), later than now plus {(long)_clockSkew.TotalSeconds} s; check the clock.",
                ErrorCodes.InvalidHistory);
        }
    }

    private async ValueTask<RegisteredIdentity?> CreateAsync(
        string id,
        IdentityType type,
        string? name,
        string? image,
        SignatureGraph graph,
        CancellationToken cancellationToken)
    {
        CheckNotInFuture(graph);
        var rootSigner = graph.FindKey(graph.Operations[0].Header.Kid)
            ?? throw new InvalidOperationException("A validated history names the key that signed its root.");
        var record = new IdentityRecord(id, type, name, image, _timeProvider.GetUtcNow(), IdentityRecord.RootKeyOf(rootSigner.PublicKey));
        var operations = graph.Operations.Select(static op => op.ToJson()).ToArray();
        var result = await _identities.CreateAsync(record, operations, graph.ActiveDeviceIds, cancellationToken).ConfigureAwait(false);
        if (result == CreateIdentityResult.RootTaken)
        {
            throw ApiException.Conflict(
                "This root operation (its signing key) already belongs to another registered identity; make a new root with fresh keys.",
                ErrorCodes.RootTaken);
        }

        if (result != CreateIdentityResult.Created)
        {
            return null;
        }

        Log.IdentityRegistered(_logger, type == IdentityType.App ? "app" : "individual", id);
        var identity = new RegisteredIdentity(record, graph, operations);
        Remember(identity);
        return identity;
    }

    private void Remember(RegisteredIdentity identity)
    {
        if (_cache.Count >= MaxCachedGraphs)
        {
            _cache.Clear();
        }

        _cache[identity.Id] = identity;
    }

    private static string NewUserId()
    {
        // 11 digits, never starting with 0.
        Span<char> digits = stackalloc char[11];
        digits[0] = (char)('1' + RandomNumberGenerator.GetInt32(9));
        for (var i = 1; i < digits.Length; i++)
        {
            digits[i] = (char)('0' + RandomNumberGenerator.GetInt32(10));
        }

        return new string(digits);
    }
}
