namespace Self.Messaging;

/// <summary>
/// The commit of a received message (its sessions, <c>jti</c> and offset) when the endpoint answers in the same
/// transaction (<see cref="SelfEndpointOptions.CommitReceiveWithAnswer"/>): it waits, not queued, while the message is
/// handled. The first of these writes it: a send that answers the message (its sessions and the receive's changes in
/// one transaction, before the answer leaves), the owner's own changes (<see cref="ClientStore.CommitWithReceiveAsync"/>), or the
/// pipeline once the handlers are done. Thread-safe.
/// </summary>
internal sealed class ReceiveCommit(ClientStore store, ClientStoreBatch batch)
{
    private readonly Lock _gate = new();
    private Task? _durable;

    /// <summary>
    /// Queues <paramref name="changes"/>, with the receive's changes after them when they are not queued yet, as one
    /// commit. Call it where the changes' order matters (a send calls it under the Olm lock).
    /// </summary>
    public Task CommitWith(ClientStoreBatch changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        lock (_gate)
        {
            if (_durable is not null)
            {
                return store.CommitAsync(changes, CancellationToken.None);
            }

            changes.Append(batch);
            return _durable = store.CommitAsync(changes, CancellationToken.None);
        }
    }

    /// <summary>Queues the receive's changes alone unless they are queued already; completes when they are durable.</summary>
    public Task CommitAsync()
    {
        lock (_gate)
        {
            return _durable ??= store.CommitAsync(batch, CancellationToken.None);
        }
    }
}
