using System.Security.Cryptography;
using Self.Protocol.Keys;
using Self.Crypto.Olm;

namespace Self.Messaging;

/// <summary>
/// The Olm state of one endpoint (the pipeline's "sessions" job): the account, the sessions per peer address (most
/// recently used first, at most <see cref="SecureMessenger.MaxSessionsPerAddress"/>), and the lock that guards them.
/// Every export of the account is queued to the store under the lock, so a later export is never overwritten by an
/// earlier one; session rows carry a strictly increasing stamp, so the store keeps the newest whatever the order.
/// Members named <c>…Locked</c> need <see cref="LockAsync"/> held.
/// </summary>
internal sealed class OlmSessions(ClientStore store, TimeProvider time)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Dictionary<string, List<OlmSessionEntry>> _sessions = new(StringComparer.Ordinal);
    private OlmAccount? _account;
    private long _lastStamp;

    public ClientStore Store => store;

    /// <summary>The account; <see cref="InvalidOperationException"/> before <see cref="LoadOrCreateAccountLockedAsync"/>.</summary>
    public OlmAccount Account => _account ?? throw new InvalidOperationException("Call InitializeAsync first.");

    public bool IsInitialized => _account is not null;

    /// <summary>Takes the Olm lock; dispose the result to release it.</summary>
    public async Task<Releaser> LockAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Releaser(_lock);
    }

    /// <summary>
    /// Loads the account from the store, or creates it from the device key with 100 one-time keys (first start, or the
    /// device key changed: the account follows it and existing sessions keep working).
    /// </summary>
    public async Task LoadOrCreateAccountLockedAsync(SigningKey deviceKey, CancellationToken cancellationToken)
    {
        var exported = await store.LoadAccountAsync(cancellationToken).ConfigureAwait(false);
        OlmAccount? account = null;
        if (exported is not null)
        {
            account = OlmAccount.Import(exported);
            CryptographicOperations.ZeroMemory(exported);
            if (!account.Ed25519PublicKey.SequenceEqual(deviceKey.PublicKey))
            {
                account = null;
            }
        }

        if (account is null)
        {
            var seed = deviceKey.Seed;
            try
            {
                account = OlmAccount.FromSeed(seed);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(seed);
            }

            account.GenerateOneTimeKeys(OlmAccount.OneTimeKeyBatchSize);
            await SaveAccountLockedAsync(account, cancellationToken).ConfigureAwait(false);
        }

        _account = account;
    }

    /// <summary>The sessions with <paramref name="address"/>, loaded from the store on first use.</summary>
    public async Task<List<OlmSessionEntry>> SessionsLockedAsync(string address, CancellationToken cancellationToken)
    {
        if (_sessions.TryGetValue(address, out var list))
        {
            return list;
        }

        var stored = await store.LoadSessionsAsync(address, cancellationToken).ConfigureAwait(false);
        list = new List<OlmSessionEntry>(stored.Count);
        foreach (var row in stored)
        {
            list.Add(new OlmSessionEntry(OlmSession.Import(row.State)));
            CryptographicOperations.ZeroMemory(row.State);
            _lastStamp = Math.Max(_lastStamp, row.LastUsed);
        }

        _sessions[address] = list;
        return list;
    }

    /// <summary>Puts a new session first and drops (from memory and, in <paramref name="batch"/>, the store) the oldest beyond the limit.</summary>
    public void AddFirstLocked(string address, List<OlmSessionEntry> list, OlmSessionEntry entry, ClientStoreBatch batch)
    {
        list.Insert(0, entry);
        while (list.Count > SecureMessenger.MaxSessionsPerAddress)
        {
            var oldest = list[^1];
            list.RemoveAt(list.Count - 1);
            batch.DeleteSession(address, oldest.Session.SessionId);
        }
    }

    /// <summary>Moves <paramref name="entry"/> to the front (most recently used).</summary>
    public static void MoveFirst(List<OlmSessionEntry> list, OlmSessionEntry entry)
    {
        list.Remove(entry);
        list.Insert(0, entry);
    }

    /// <summary>Adds the session's export (encrypted) with a fresh stamp to <paramref name="batch"/>.</summary>
    public void SaveSessionLocked(ClientStoreBatch batch, string address, OlmSessionEntry entry)
    {
        var exported = entry.Session.Export();
        try
        {
            batch.SaveSession(address, entry.Session.SessionId, exported, NextStamp());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(exported);
        }
    }

    /// <summary>Adds the account's export (encrypted) to <paramref name="batch"/>.</summary>
    public void SaveAccountLocked(ClientStoreBatch batch)
    {
        var exported = Account.Export();
        try
        {
            batch.SaveAccount(exported);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(exported);
        }
    }

    /// <summary>Commits the account's export on its own (queued under the lock, awaited until durable).</summary>
    public Task SaveAccountLockedAsync(CancellationToken cancellationToken) => SaveAccountLockedAsync(Account, cancellationToken);

    private async Task SaveAccountLockedAsync(OlmAccount account, CancellationToken cancellationToken)
    {
        var exported = account.Export();
        try
        {
            await store.SaveAccountAsync(exported, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(exported);
        }
    }

    // A strictly increasing stamp, so that "most recently used" survives a restart even when the clock stands still,
    // and so that the store keeps the newest export of a session whatever order the commits land in.
    private long NextStamp()
    {
        _lastStamp = Math.Max(time.GetUtcNow().ToUnixTimeMilliseconds(), _lastStamp + 1);
        return _lastStamp;
    }

    /// <summary>Releases the Olm lock once.</summary>
    public sealed class Releaser(SemaphoreSlim semaphore) : IDisposable
    {
        private SemaphoreSlim? _semaphore = semaphore;

        public void Dispose() => Interlocked.Exchange(ref _semaphore, null)?.Release();
    }
}

/// <summary>One Olm session held in memory.</summary>
internal sealed class OlmSessionEntry(OlmSession session)
{
    public OlmSession Session { get; } = session;
}
