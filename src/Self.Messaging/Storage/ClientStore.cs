using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Self.Protocol.Identifiers;

namespace Self.Messaging;

/// <summary>
/// The local store of one endpoint: one SQLite file (WAL, synchronous FULL) per address in the storage folder.
/// Every secret (the Olm account, the sessions, the key/value entries) is stored only as an at-rest encrypted blob
/// under the storage key, bound to its row so blobs cannot be swapped. Also the processed offset, the seen message
/// ids (<c>jti</c>, with expiry) and the open requests. Changes that belong together are written in one transaction
/// through a <see cref="ClientStoreBatch"/>. Opening with another storage key throws <see cref="StorageKeyException"/>.
/// Thread-safe.
/// <para>
/// Writes are group-committed on one connection: batches handed to <see cref="CommitAsync"/> while a transaction is in
/// flight are written together in the next one, in the order <see cref="CommitAsync"/> was called, so concurrent
/// senders and receivers share one <c>fsync</c>. Each caller's task completes only once its own batch is durable, and
/// each batch stays all-or-nothing (when a shared transaction fails, its batches are retried one by one). Reads use a
/// second connection (WAL lets it read while a commit is in flight) and see only committed data. Every statement is
/// prepared once per store and reused.
/// </para>
/// </summary>
internal sealed partial class ClientStore : IAsyncDisposable
{
    private const int SchemaVersion = 1;
    private const string KeyCheckContext = "self.client-store.key-check";
    private static readonly byte[] KeyCheckPlaintext = "self client store"u8.ToArray();

    // At most this many batches go into one transaction; the rest wait for the next.
    private const int MaxBatchesPerTransaction = 512;

    // How long the writer of a busy store waits before it starts the next transaction (see CommitQueued).
    private static readonly TimeSpan GroupCommitLinger = TimeSpan.FromMilliseconds(1);

    // The write statements, indexed by StoreStatement; parameters $p0, $p1, … in the order the batch adds them.
    private static readonly string[] WriteSql =
    [
        "INSERT INTO account (id, blob) VALUES (1, $p0) ON CONFLICT (id) DO UPDATE SET blob = excluded.blob",
        "INSERT INTO sessions (address, session_id, blob, last_used) VALUES ($p0, $p1, $p2, $p3) " +
            "ON CONFLICT (address, session_id) DO UPDATE SET blob = excluded.blob, last_used = excluded.last_used " +
            "WHERE excluded.last_used >= sessions.last_used",
        "DELETE FROM sessions WHERE address = $p0 AND session_id = $p1",
        "INSERT INTO state (name, value) VALUES ('processed_offset', $p0) " +
            "ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)",
        "INSERT INTO seen_jti (jti, expires) VALUES ($p0, $p1) " +
            "ON CONFLICT (jti) DO UPDATE SET expires = MAX(expires, excluded.expires)",
        "INSERT INTO open_requests (cid, json, expires) VALUES ($p0, $p1, $p2) " +
            "ON CONFLICT (cid) DO UPDATE SET json = excluded.json, expires = excluded.expires",
        "DELETE FROM open_requests WHERE cid = $p0",
        "INSERT INTO kv (key, blob) VALUES ($p0, $p1) ON CONFLICT (key) DO UPDATE SET blob = excluded.blob",
        "DELETE FROM kv WHERE key = $p0",
    ];

    private static readonly string[] ParameterNames = ["$p0", "$p1", "$p2", "$p3"];

    private readonly SqliteConnection _connection;
    private readonly SqliteConnection _reader;
    private readonly StoreCipher _cipher;
    private readonly TimeProvider _time;

    // Guards the read connection and its prepared statements.
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Dictionary<string, SqliteCommand> _reads = new(StringComparer.Ordinal);

    // The group commit: batches waiting for the next transaction, and the committer that drains them (at most one).
    // The write connection and its prepared statements are used only by the committer.
    private readonly Lock _queueGate = new();
    private readonly SqliteCommand?[] _writes = new SqliteCommand?[WriteSql.Length];
    private List<PendingCommit> _queue = [];
    private TaskCompletionSource? _committer;
    private bool _committing;
    private long _transactions;
    private Action? _beforeCommit;
    private bool _disposed;

    private ClientStore(
        string path, SqliteConnection connection, SqliteConnection reader, StoreCipher cipher, TimeProvider time, bool isNew, Address address)
    {
        FilePath = path;
        _connection = connection;
        _reader = reader;
        _cipher = cipher;
        _time = time;
        IsNew = isNew;
        Address = address;
    }

    /// <summary>The SQLite file.</summary>
    public string FilePath { get; }

    /// <summary>True when this open created the store (a first start).</summary>
    public bool IsNew { get; }

    /// <summary>The address whose store this is.</summary>
    public Address Address { get; }

    /// <summary>How many write transactions were committed (a group commit writes several batches in one).</summary>
    internal long TransactionCount => Interlocked.Read(ref _transactions);

    /// <summary>For tests: runs inside every write transaction after its statements, before COMMIT; throwing rolls it back.</summary>
    internal Action? BeforeCommit
    {
        get => Volatile.Read(ref _beforeCommit);
        set => Volatile.Write(ref _beforeCommit, value);
    }

    /// <summary>The file name used for <paramref name="address"/> inside the storage folder.</summary>
    public static string FileNameFor(Address address) => $"self-{address.Id}-{address.Device}.db";

    /// <summary>
    /// Opens (or creates) the store of <paramref name="address"/> in <paramref name="directory"/>. A store created
    /// with another storage key throws <see cref="StorageKeyException"/>; nothing is changed in that case.
    /// </summary>
    public static async Task<ClientStore> OpenAsync(
        string directory, Address address, string storageKey, TimeProvider? timeProvider = null, ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(storageKey);
        Directory.CreateDirectory(directory);
        var path = Path.GetFullPath(Path.Combine(directory, FileNameFor(address)));
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            // Long-lived connections; without pooling the file is released on dispose.
            Pooling = false,
        }.ToString();

        var connection = new SqliteConnection(connectionString);
        SqliteConnection? reader = null;
        var cipher = new StoreCipher(storageKey);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // WAL with synchronous=FULL: each commit survives a crash or power loss, so an Olm ratchet step is never
            // lost after the server was told the message is processed (a rolled-back ratchet would reuse a message key).
            await ExecuteAsync(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", cancellationToken).ConfigureAwait(false);
            var isNew = await InitializeAsync(connection, cipher, address, cancellationToken).ConfigureAwait(false);
            if (!isNew)
            {
                await CheckKeyAsync(connection, cipher, path, cancellationToken).ConfigureAwait(false);
            }

            // Reads on a connection of their own: in WAL mode they need not wait for a commit (and its fsync) in flight.
            reader = new SqliteConnection(connectionString);
            await reader.OpenAsync(cancellationToken).ConfigureAwait(false);

            Log.StoreOpened(logger ?? NullLogger.Instance, path);
            return new ClientStore(path, connection, reader, cipher, timeProvider ?? TimeProvider.System, isNew, address);
        }
        catch
        {
            if (reader is not null)
            {
                await reader.DisposeAsync().ConfigureAwait(false);
            }

            await connection.DisposeAsync().ConfigureAwait(false);
            cipher.Dispose();
            throw;
        }
    }

    // ---- Reads ------------------------------------------------------------------------------------------------

    /// <summary>The exported Olm account (decrypted), or <see langword="null"/> before the first save.</summary>
    public async Task<byte[]?> LoadAccountAsync(CancellationToken cancellationToken = default)
    {
        var blob = await ScalarAsync<byte[]>("SELECT blob FROM account WHERE id = 1", null, cancellationToken).ConfigureAwait(false);
        return blob is null ? null : Open(blob, AccountContext(), "the Olm account");
    }

    /// <summary>The stored Olm sessions with <paramref name="address"/> (decrypted), most recently used first.</summary>
    public async Task<IReadOnlyList<StoredSession>> LoadSessionsAsync(string address, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        var rows = new List<(string Id, byte[] Blob, long LastUsed)>();
        await WithLockAsync(
            () =>
            {
                var command = ReadCommand("SELECT session_id, blob, last_used FROM sessions WHERE address = $p0 ORDER BY last_used DESC, rowid DESC", address);
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    rows.Add((reader.GetString(0), (byte[])reader.GetValue(1), reader.GetInt64(2)));
                }
            },
            cancellationToken).ConfigureAwait(false);

        return rows.Select(r => new StoredSession(address, r.Id, Open(r.Blob, SessionContext(address, r.Id), $"the session with {address}"), r.LastUsed)).ToList();
    }

    /// <summary>The highest offset durably processed (0 at first).</summary>
    public async Task<long> GetProcessedOffsetAsync(CancellationToken cancellationToken = default) =>
        await ScalarAsync<long?>("SELECT value FROM state WHERE name = 'processed_offset'", null, cancellationToken).ConfigureAwait(false) ?? 0;

    /// <summary>True when a message with this <c>jti</c> was processed and its record has not expired.</summary>
    public async Task<bool> HasSeenJtiAsync(string jti, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jti);
        var found = await ScalarAsync<long?>("SELECT 1 FROM seen_jti WHERE jti = $p0", jti, cancellationToken).ConfigureAwait(false);
        return found is not null;
    }

    /// <summary>The JSON stored for an open request, or <see langword="null"/> when there is none.</summary>
    public async Task<OpenRequest?> GetOpenRequestAsync(string cid, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(cid);
        OpenRequest? result = null;
        await WithLockAsync(
            () =>
            {
                var command = ReadCommand("SELECT json, expires FROM open_requests WHERE cid = $p0", cid);
                using var reader = command.ExecuteReader();
                if (reader.Read())
                {
                    result = new OpenRequest(cid, reader.GetString(0), DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(1)));
                }
            },
            cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Every stored open request, expired ones included (the caller decides what expiry means), oldest expiry first.</summary>
    public async Task<IReadOnlyList<OpenRequest>> GetOpenRequestsAsync(CancellationToken cancellationToken = default)
    {
        var result = new List<OpenRequest>();
        await WithLockAsync(
            () =>
            {
                var command = ReadCommand("SELECT cid, json, expires FROM open_requests ORDER BY expires, cid", null);
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    result.Add(new OpenRequest(reader.GetString(0), reader.GetString(1), DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(2))));
                }
            },
            cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>A value of the key/value table (decrypted), or <see langword="null"/>.</summary>
    public async Task<byte[]?> GetValueAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var blob = await ScalarAsync<byte[]>("SELECT blob FROM kv WHERE key = $p0", key, cancellationToken).ConfigureAwait(false);
        return blob is null ? null : Open(blob, ValueContext(key), $"the value '{key}'");
    }

    /// <summary>A UTF-8 string value of the key/value table, or <see langword="null"/>.</summary>
    public async Task<string?> GetStringAsync(string key, CancellationToken cancellationToken = default)
    {
        var bytes = await GetValueAsync(key, cancellationToken).ConfigureAwait(false);
        return bytes is null ? null : Encoding.UTF8.GetString(bytes);
    }

    // ---- Writes -----------------------------------------------------------------------------------------------

    /// <summary>Starts a set of changes that <see cref="CommitAsync"/> writes in one transaction.</summary>
    public ClientStoreBatch CreateBatch() => new(this);

    /// <summary>
    /// Writes every change of <paramref name="batch"/> in one transaction (all or nothing); the task completes once the
    /// batch is durable. The batch is queued before this method returns, and queued batches are written in the order
    /// they were queued (possibly several in one transaction), so a caller that queues under its own lock knows that
    /// what it queues later lands later. Cancellation only stops the wait: a queued batch is still written.
    /// </summary>
    public Task CommitAsync(ClientStoreBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Store != this)
        {
            throw new ArgumentException("The batch belongs to another store.", nameof(batch));
        }

        if (batch.Operations.Count == 0)
        {
            return Task.CompletedTask;
        }

        var pending = new PendingCommit([.. batch.Operations]);
        batch.Operations.Clear();
        lock (_queueGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _queue.Add(pending);
            if (!_committing)
            {
                _committing = true;
                _committer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                StoreWriterThreads.Post(CommitQueued);
            }
        }

        return cancellationToken.CanBeCanceled ? pending.Done.Task.WaitAsync(cancellationToken) : pending.Done.Task;
    }

    /// <summary>
    /// <see cref="CommitAsync(ClientStoreBatch, CancellationToken)"/>, carrying in the same transaction the changes of
    /// <paramref name="receive"/> when they still wait for a commit (a device's answer, or the request it keeps open).
    /// </summary>
    public Task CommitWithReceiveAsync(ClientStoreBatch batch, ReceiveCommit? receive) =>
        receive is not null ? receive.CommitWith(batch) : CommitAsync(batch, CancellationToken.None);

    /// <summary>Saves the exported Olm account (encrypted).</summary>
    public Task SaveAccountAsync(ReadOnlySpan<byte> exported, CancellationToken cancellationToken = default) =>
        CommitAsync(CreateBatch().SaveAccount(exported), cancellationToken);

    /// <summary>Stores an open request (conversation id → JSON) until <paramref name="expires"/>.</summary>
    public Task SaveOpenRequestAsync(string cid, string json, DateTimeOffset expires, CancellationToken cancellationToken = default) =>
        CommitAsync(CreateBatch().SaveOpenRequest(cid, json, expires), cancellationToken);

    /// <summary>Removes an open request; no error when there is none.</summary>
    public Task RemoveOpenRequestAsync(string cid, CancellationToken cancellationToken = default) =>
        CommitAsync(CreateBatch().RemoveOpenRequest(cid), cancellationToken);

    /// <summary>Sets a value of the key/value table (stored encrypted).</summary>
    public Task SetValueAsync(string key, ReadOnlySpan<byte> value, CancellationToken cancellationToken = default) =>
        CommitAsync(CreateBatch().SetValue(key, value), cancellationToken);

    /// <summary>Sets a UTF-8 string value of the key/value table (stored encrypted).</summary>
    public Task SetStringAsync(string key, string value, CancellationToken cancellationToken = default) =>
        SetValueAsync(key, Encoding.UTF8.GetBytes(value), cancellationToken);

    /// <summary>Removes a value of the key/value table; no error when there is none.</summary>
    public Task RemoveValueAsync(string key, CancellationToken cancellationToken = default) =>
        CommitAsync(CreateBatch().RemoveValue(key), cancellationToken);

    /// <summary>Deletes seen <c>jti</c> records whose expiry has passed; returns how many.</summary>
    public async Task<int> PruneExpiredAsync(CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var removed = 0;
        await WithLockAsync(
            () =>
            {
                // Rare (once per start): on the read connection, which may write too; SQLite serialises it with the
                // committer's transactions (busy timeout).
                var command = ReadCommand("DELETE FROM seen_jti WHERE expires < $p0", now);
                removed = command.ExecuteNonQuery();
            },
            cancellationToken).ConfigureAwait(false);
        return removed;
    }

    /// <summary>Waits for every queued batch to be written, then closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        Task committer;
        lock (_queueGate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            committer = _committing ? _committer!.Task : Task.CompletedTask;
        }

        await committer.ConfigureAwait(false);
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var command in _reads.Values)
            {
                await command.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var command in _writes)
            {
                if (command is not null)
                {
                    await command.DisposeAsync().ConfigureAwait(false);
                }
            }

            await _reader.DisposeAsync().ConfigureAwait(false);
            await _connection.DisposeAsync().ConfigureAwait(false);
            _cipher.Dispose();
        }
        finally
        {
            _lock.Release();
        }
    }

    // ---- Internals used by the batch -------------------------------------------------------------------------

    internal byte[] Seal(ReadOnlySpan<byte> plaintext, string context) => _cipher.Encrypt(plaintext, context);

    internal static string AccountContext() => "account";

    internal static string SessionContext(string address, string sessionId) => "session|" + address + "|" + sessionId;

    internal static string ValueContext(string key) => "kv|" + key;

    private byte[] Open(byte[] blob, string context, string what)
    {
        try
        {
            return _cipher.Decrypt(blob, context);
        }
        catch (StoreCipherException ex)
        {
            throw new StorageKeyException($"{what} in {FilePath} could not be decrypted: the blob is damaged or was written with another storage key", ex);
        }
    }

    // A prepared read statement on the read connection (call with _lock held), its $p0 bound to value.
    private SqliteCommand ReadCommand(string sql, object? value)
    {
        if (!_reads.TryGetValue(sql, out var command))
        {
            command = _reader.CreateCommand();
            command.CommandText = sql;
            if (sql.Contains("$p0", StringComparison.Ordinal))
            {
                command.Parameters.Add(new SqliteParameter("$p0", null));
            }

            _reads[sql] = command;
        }

        if (command.Parameters.Count > 0)
        {
            command.Parameters[0].Value = value;
        }

        return command;
    }

    private async Task<T?> ScalarAsync<T>(string sql, object? value, CancellationToken cancellationToken)
    {
        object? result = null;
        await WithLockAsync(() => result = ReadCommand(sql, value).ExecuteScalar(), cancellationToken).ConfigureAwait(false);

        if (result is null or DBNull)
        {
            return default;
        }

        var target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        return (T)(target == typeof(byte[]) ? result : Convert.ChangeType(result, target, CultureInfo.InvariantCulture));
    }

    private async Task WithLockAsync(Action action, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            action();
        }
        finally
        {
            _lock.Release();
        }
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<bool> InitializeAsync(SqliteConnection connection, StoreCipher cipher, Address address, CancellationToken cancellationToken)
    {
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var create = connection.CreateCommand())
        {
            create.Transaction = transaction;
            create.CommandText = """
                CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS account (id INTEGER PRIMARY KEY CHECK (id = 1), blob BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS sessions (
                    address TEXT NOT NULL, session_id TEXT NOT NULL, blob BLOB NOT NULL, last_used INTEGER NOT NULL,
                    PRIMARY KEY (address, session_id));
                CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS seen_jti (jti TEXT PRIMARY KEY, expires INTEGER NOT NULL);
                CREATE INDEX IF NOT EXISTS seen_jti_expires ON seen_jti (expires);
                CREATE TABLE IF NOT EXISTS open_requests (cid TEXT PRIMARY KEY, json TEXT NOT NULL, expires INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, blob BLOB NOT NULL);
                """;
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        bool isNew;
        await using (var check = connection.CreateCommand())
        {
            check.Transaction = transaction;
            check.CommandText = "SELECT COUNT(*) FROM meta WHERE name = 'key_check'";
            isNew = Convert.ToInt64(await check.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) == 0;
        }

        if (isNew)
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO meta (name, value) VALUES ('schema_version', $v), ('address', $a), ('key_check', $k);
                """;
            insert.Parameters.AddWithValue("$v", SchemaVersion);
            insert.Parameters.AddWithValue("$a", address.ToString());
            insert.Parameters.AddWithValue("$k", cipher.Encrypt(KeyCheckPlaintext, KeyCheckContext));
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return isNew;
    }

    private static async Task CheckKeyAsync(SqliteConnection connection, StoreCipher cipher, string path, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM meta WHERE name = 'key_check'";
        var blob = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
        try
        {
            var plain = blob is null ? null : cipher.Decrypt(blob, KeyCheckContext);
            if (plain is not null && plain.AsSpan().SequenceEqual(KeyCheckPlaintext))
            {
                return;
            }
        }
        catch (StoreCipherException ex)
        {
            throw new StorageKeyException($"the storage key does not open {path}: it is not the key this store was created with", ex);
        }

        throw new StorageKeyException($"the storage key does not open {path}: it is not the key this store was created with");
    }
}

/// <summary>An Olm session as stored: its peer address, session id, exported (decrypted) state and last use (unix seconds).</summary>
/// <param name="Address">The peer address, <c>id:device</c>.</param>
/// <param name="SessionId">The Olm session id.</param>
/// <param name="State">The exported session (a secret: zero it after use).</param>
/// <param name="LastUsed">Unix seconds of the last encrypt or decrypt.</param>
internal sealed record StoredSession(string Address, string SessionId, byte[] State, long LastUsed);

/// <summary>A stored open request.</summary>
/// <param name="ConversationId">The request's <c>cid</c>.</param>
/// <param name="Json">What the layer above stored for it.</param>
/// <param name="Expires">When the request expires.</param>
internal sealed record OpenRequest(string ConversationId, string Json, DateTimeOffset Expires);
