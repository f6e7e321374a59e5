using Microsoft.Data.Sqlite;

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

    internal List<Action<SqliteCommand>> Operations { get; } = [];

    /// <summary>True when nothing was added.</summary>
    public bool IsEmpty => Operations.Count == 0;

    /// <summary>Saves the exported Olm account.</summary>
    public ClientStoreBatch SaveAccount(ReadOnlySpan<byte> exported)
    {
        var blob = Store.Seal(exported, ClientStore.AccountContext());
        return Add(c =>
        {
            c.CommandText = "INSERT INTO account (id, blob) VALUES (1, $b) ON CONFLICT (id) DO UPDATE SET blob = excluded.blob";
            c.Parameters.AddWithValue("$b", blob);
        });
    }

    /// <summary>Saves (inserts or replaces) an exported Olm session with <paramref name="address"/>.</summary>
    public ClientStoreBatch SaveSession(string address, string sessionId, ReadOnlySpan<byte> exported, long lastUsed)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        var blob = Store.Seal(exported, ClientStore.SessionContext(address, sessionId));
        return Add(c =>
        {
            c.CommandText = """
                INSERT INTO sessions (address, session_id, blob, last_used) VALUES ($a, $s, $b, $u)
                ON CONFLICT (address, session_id) DO UPDATE SET blob = excluded.blob, last_used = excluded.last_used
                """;
            c.Parameters.AddWithValue("$a", address);
            c.Parameters.AddWithValue("$s", sessionId);
            c.Parameters.AddWithValue("$b", blob);
            c.Parameters.AddWithValue("$u", lastUsed);
        });
    }

    /// <summary>Deletes one stored session.</summary>
    public ClientStoreBatch DeleteSession(string address, string sessionId) => Add(c =>
    {
        c.CommandText = "DELETE FROM sessions WHERE address = $a AND session_id = $s";
        c.Parameters.AddWithValue("$a", address);
        c.Parameters.AddWithValue("$s", sessionId);
    });

    /// <summary>Raises the processed offset to <paramref name="offset"/> (never lowers it).</summary>
    public ClientStoreBatch SetProcessedOffset(long offset) => Add(c =>
    {
        c.CommandText = """
            INSERT INTO state (name, value) VALUES ('processed_offset', $o)
            ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)
            """;
        c.Parameters.AddWithValue("$o", offset);
    });

    /// <summary>Records a processed message id until <paramref name="expires"/>, after which it may be pruned.</summary>
    public ClientStoreBatch AddSeenJti(string jti, DateTimeOffset expires)
    {
        ArgumentException.ThrowIfNullOrEmpty(jti);
        var seconds = expires.ToUnixTimeSeconds();
        return Add(c =>
        {
            c.CommandText = """
                INSERT INTO seen_jti (jti, expires) VALUES ($j, $e)
                ON CONFLICT (jti) DO UPDATE SET expires = MAX(expires, excluded.expires)
                """;
            c.Parameters.AddWithValue("$j", jti);
            c.Parameters.AddWithValue("$e", seconds);
        });
    }

    /// <summary>Stores an open request (conversation id → JSON).</summary>
    public ClientStoreBatch SaveOpenRequest(string cid, string json, DateTimeOffset expires)
    {
        ArgumentException.ThrowIfNullOrEmpty(cid);
        ArgumentNullException.ThrowIfNull(json);
        return Add(c =>
        {
            c.CommandText = """
                INSERT INTO open_requests (cid, json, expires) VALUES ($c, $j, $e)
                ON CONFLICT (cid) DO UPDATE SET json = excluded.json, expires = excluded.expires
                """;
            c.Parameters.AddWithValue("$c", cid);
            c.Parameters.AddWithValue("$j", json);
            c.Parameters.AddWithValue("$e", expires.ToUnixTimeSeconds());
        });
    }

    /// <summary>Removes an open request.</summary>
    public ClientStoreBatch RemoveOpenRequest(string cid) => Add(c =>
    {
        c.CommandText = "DELETE FROM open_requests WHERE cid = $c";
        c.Parameters.AddWithValue("$c", cid);
    });

    /// <summary>Sets a key/value entry (stored encrypted).</summary>
    public ClientStoreBatch SetValue(string key, ReadOnlySpan<byte> value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var blob = Store.Seal(value, ClientStore.ValueContext(key));
        return Add(c =>
        {
            c.CommandText = "INSERT INTO kv (key, blob) VALUES ($k, $b) ON CONFLICT (key) DO UPDATE SET blob = excluded.blob";
            c.Parameters.AddWithValue("$k", key);
            c.Parameters.AddWithValue("$b", blob);
        });
    }

    /// <summary>Removes a key/value entry.</summary>
    public ClientStoreBatch RemoveValue(string key) => Add(c =>
    {
        c.CommandText = "DELETE FROM kv WHERE key = $k";
        c.Parameters.AddWithValue("$k", key);
    });

    private ClientStoreBatch Add(Action<SqliteCommand> operation)
    {
        Operations.Add(operation);
        return this;
    }
}
