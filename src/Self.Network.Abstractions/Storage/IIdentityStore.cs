namespace Self.Network.Storage;

/// <summary>
/// Registered identities and their key histories. Histories are stored as the operations' JSON, in sequence
/// order; validating them is the caller's job (the store only keeps the chain gap-free under concurrency).
/// </summary>
public interface IIdentityStore
{
    /// <summary>
    /// Registers an identity with its (already validated) history and marks <paramref name="deviceIds"/> active,
    /// all at once.
    /// </summary>
    ValueTask<CreateIdentityResult> CreateAsync(
        IdentityRecord identity,
        IReadOnlyList<string> history,
        IReadOnlyCollection<string> deviceIds,
        CancellationToken cancellationToken = default);

    /// <summary>The identity, or null when the id is not registered.</summary>
    ValueTask<IdentityRecord?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>The history's operations (flattened JWS JSON) in sequence order; empty when the id is unknown.</summary>
    ValueTask<IReadOnlyList<string>> GetHistoryAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds one operation at the end of the history and applies its device changes, all at once.
    /// Returns false, changing nothing, when the history no longer holds exactly <see cref="HistoryAppend.Sequence"/>
    /// operations (another append won the race) or the identity is unknown.
    /// </summary>
    ValueTask<bool> AppendHistoryAsync(string id, HistoryAppend append, CancellationToken cancellationToken = default);
}
