namespace Self.Messaging;

/// <summary>
/// Changes to a <see cref="ClientStore"/> that are written together in one transaction by
/// <see cref="ClientStore.CommitAsync"/>. Secrets are encrypted as they are added, so the batch never holds
/// plaintext. Not thread-safe.
/// </summary>
internal sealed class ClientStoreBatch
{
    internal ClientStoreBatch(ClientStore store)
    {
        Store = store;
    }

    internal ClientStore Store { get; }

    internal List<StoreOperation> Operations { get; } = [];

    /// <summary>True when nothing was added.</summary>
    public bool IsEmpty => Operations.Count == 0;

    /// <summary>True when the batch saves the Olm account.</summary>
    internal bool SavesAccount { get; private set; }

    /// <summary>Saves the exported Olm account.</summary>
    public ClientStoreBatch SaveAccount(ReadOnlySpan<byte> exported)
    {
        SavesAccount = true;
        return Add(StoreStatement.SaveAccount, Store.Seal(exported, ClientStore.AccountContext()));
    }

    /// <summary>
    /// Saves (inserts or replaces) an exported Olm session with <paramref name="address"/>. A stored row with a higher
    /// <paramref name="lastUsed"/> is kept: a later export is never overwritten by an earlier one, whatever order the
    /// commits land in.
    /// </summary>
    public ClientStoreBatch SaveSession(string address, string sessionId, ReadOnlySpan<byte> exported, long lastUsed)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        var blob = Store.Seal(exported, ClientStore.SessionContext(address, sessionId));
        return Add(StoreStatement.SaveSession, address, sessionId, blob, lastUsed);
    }

    /// <summary>Deletes one stored session.</summary>
    public ClientStoreBatch DeleteSession(string address, string sessionId) => Add(StoreStatement.DeleteSession, address, sessionId);

    /// <summary>Raises the processed offset to <paramref name="offset"/> (never lowers it).</summary>
    public ClientStoreBatch SetProcessedOffset(long offset) => Add(StoreStatement.SetProcessedOffset, offset);

    /// <summary>Records a processed message id until <paramref name="expires"/>, after which it may be pruned.</summary>
    public ClientStoreBatch AddSeenJti(string jti, DateTimeOffset expires)
    {
        ArgumentException.ThrowIfNullOrEmpty(jti);
        return Add(StoreStatement.AddSeenJti, jti, expires.ToUnixTimeSeconds());
    }

    /// <summary>Stores an open request (conversation id → JSON).</summary>
    public ClientStoreBatch SaveOpenRequest(string cid, string json, DateTimeOffset expires)
    {
        ArgumentException.ThrowIfNullOrEmpty(cid);
        ArgumentNullException.ThrowIfNull(json);
        return Add(StoreStatement.SaveOpenRequest, cid, json, expires.ToUnixTimeSeconds());
    }

    /// <summary>Removes an open request.</summary>
    public ClientStoreBatch RemoveOpenRequest(string cid) => Add(StoreStatement.RemoveOpenRequest, cid);

    /// <summary>Sets a key/value entry (stored encrypted).</summary>
    public ClientStoreBatch SetValue(string key, ReadOnlySpan<byte> value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return Add(StoreStatement.SetValue, key, Store.Seal(value, ClientStore.ValueContext(key)));
    }

    /// <summary>Removes a key/value entry.</summary>
    public ClientStoreBatch RemoveValue(string key) => Add(StoreStatement.RemoveValue, key);

    /// <summary>Adds every change of <paramref name="other"/> (of the same store) after those already here.</summary>
    internal ClientStoreBatch Append(ClientStoreBatch other)
    {
        if (other.Store != Store)
        {
            throw new ArgumentException("The batch belongs to another store.", nameof(other));
        }

        Operations.AddRange(other.Operations);
        SavesAccount |= other.SavesAccount;
        return this;
    }

    private ClientStoreBatch Add(StoreStatement statement, params object[] values)
    {
        Operations.Add(new StoreOperation(statement, values));
        return this;
    }
}

/// <summary>One write of a batch: a statement of the fixed set and its parameter values ($p0, $p1, … in order).</summary>
internal readonly record struct StoreOperation(StoreStatement Statement, object[] Values);

/// <summary>The fixed set of write statements; each is prepared once per store and reused.</summary>
internal enum StoreStatement
{
    SaveAccount,
    SaveSession,
    DeleteSession,
    SetProcessedOffset,
    AddSeenJti,
    SaveOpenRequest,
    RemoveOpenRequest,
    SetValue,
    RemoveValue,
}
