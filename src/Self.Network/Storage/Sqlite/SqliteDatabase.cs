using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace Self.Network.Storage.Sqlite;

/// <summary>
/// The SQLite file that backs every store: opens pooled connections (one per operation) and runs write
/// transactions one at a time. SQLite allows a single writer anyway; taking turns in-process avoids
/// SQLITE_BUSY retries, while readers run concurrently thanks to WAL.
/// </summary>
internal sealed class SqliteDatabase : IAsyncDisposable
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS identities (
            id TEXT NOT NULL PRIMARY KEY,
            type INTEGER NOT NULL,
            name TEXT,
            image TEXT,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS history (
            identity_id TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            operation TEXT NOT NULL,
            PRIMARY KEY (identity_id, sequence)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS devices (
            identity_id TEXT NOT NULL,
            device_id TEXT NOT NULL,
            platform TEXT,
            active INTEGER NOT NULL,
            UNIQUE (identity_id, device_id)
        );
        CREATE TABLE IF NOT EXISTS one_time_keys (
            identity_id TEXT NOT NULL,
            device_id TEXT NOT NULL,
            key_id TEXT NOT NULL,
            key TEXT NOT NULL,
            UNIQUE (identity_id, device_id, key_id)
        );
        CREATE TABLE IF NOT EXISTS connections (
            identity_id TEXT NOT NULL,
            source TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            issued_at INTEGER NOT NULL,
            revoked INTEGER NOT NULL,
            PRIMARY KEY (identity_id, source)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS inbox_heads (
            address TEXT NOT NULL PRIMARY KEY,
            last_offset INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS inbox_messages (
            address TEXT NOT NULL,
            msg_offset INTEGER NOT NULL,
            timestamp INTEGER NOT NULL,
            frame BLOB NOT NULL,
            PRIMARY KEY (address, msg_offset)
        );
        CREATE INDEX IF NOT EXISTS inbox_messages_by_time ON inbox_messages (timestamp);
        CREATE TABLE IF NOT EXISTS root_keys (
            root_key TEXT NOT NULL PRIMARY KEY,
            identity_id TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS token_replays (
            token_key TEXT NOT NULL PRIMARY KEY,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        """;

    private static readonly ConditionalWeakTable<SQLitePCL.sqlite3, object> Configured = [];
    private static readonly object ConfiguredMark = new();

    /// <summary>How many prepared connections wait for the next call at most; more are opened under load and closed after.</summary>
    private const int MaxIdleLeases = 16;

    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly ConcurrentBag<SqliteLease> _idleLeases = [];
    private readonly List<SqliteLease> _allLeases = [];
    private bool _disposed;
    private readonly SemaphoreSlim _initGate = new(1, 1);
    private volatile bool _initialized;

    /// <summary>Uses (and creates when missing) the database file at <paramref name="path"/>.</summary>
    public SqliteDatabase(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
        }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Opens a connection, creating the schema on first use. The caller disposes it.</summary>
    public async ValueTask<SqliteConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        if (!_initialized)
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        return await OpenCoreAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Lends an open connection whose commands stay prepared between calls (<see cref="SqliteLease.Command"/>), for the
    /// hot paths: preparing a statement anew on every call was about a tenth of the server's CPU in a CPU profile of
    /// the benchmark. Dispose the lease to give it back.
    /// </summary>
    public async ValueTask<SqliteLease> LeaseAsync(CancellationToken cancellationToken = default)
    {
        if (_idleLeases.TryTake(out var idle))
        {
            return idle;
        }

        var lease = new SqliteLease(this, await OpenAsync(cancellationToken).ConfigureAwait(false));
        lock (_allLeases)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _allLeases.Add(lease);
        }

        return lease;
    }

    /// <summary>
    /// Runs <paramref name="work"/> in a write transaction on a leased connection (prepared commands) and commits it,
    /// unless the work rolled it back itself; rolls back when it throws.
    /// </summary>
    public async ValueTask<T> WriteAsync<T>(
        Func<SqliteLease, SqliteTransaction, CancellationToken, ValueTask<T>> work,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        await using var lease = await LeaseAsync(cancellationToken).ConfigureAwait(false);
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var transaction = lease.Connection.BeginTransaction(deferred: false);
            var result = await work(lease, transaction, cancellationToken).ConfigureAwait(false);
            if (transaction.Connection is not null)
            {
                await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            }

            return result;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Takes back a lease: kept for the next call, or closed when enough are idle or the database is closing.</summary>
    internal async ValueTask ReturnAsync(SqliteLease lease)
    {
        bool keep;
        lock (_allLeases)
        {
            keep = !_disposed && _idleLeases.Count < MaxIdleLeases;
            if (!keep)
            {
                _allLeases.Remove(lease);
            }
        }

        if (keep)
        {
            _idleLeases.Add(lease);
        }
        else
        {
            await lease.CloseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in a write transaction and commits it, unless the work rolled it back itself;
    /// rolls back when it throws.
    /// </summary>
    public ValueTask<T> WriteAsync<T>(
        Func<SqliteConnection, SqliteTransaction, CancellationToken, ValueTask<T>> work,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return WriteAsync((SqliteLease lease, SqliteTransaction transaction, CancellationToken ct) => work(lease.Connection, transaction, ct), cancellationToken);
    }

    /// <summary>Creates the schema and switches the file to WAL (idempotent).</summary>
    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default)
    {
        await _initGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_initialized)
            {
                return;
            }

            var directory = System.IO.Path.GetDirectoryName(Path);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            await using var connection = await OpenCoreAsync(cancellationToken).ConfigureAwait(false);
            await using (var command = connection.CreateCommand())
            {
                // WAL is a property of the file and survives restarts; readers never block the writer.
                command.CommandText = "PRAGMA journal_mode=WAL;";
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var command = connection.CreateCommand())
            {
                command.CommandText = Schema;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            _initialized = true;
        }
        finally
        {
            _initGate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        SqliteLease[] leases;
        lock (_allLeases)
        {
            _disposed = true;
            leases = [.. _allLeases];
            _allLeases.Clear();
        }

        while (_idleLeases.TryTake(out _))
        {
        }

        foreach (var lease in leases)
        {
            await lease.CloseAsync().ConfigureAwait(false);
        }

        // Pooled connections keep the file open; release them so the folder can be reused or deleted.
        await using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    private async ValueTask<SqliteConnection> OpenCoreAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);

            // Once per SQLite handle: the pool hands the same handle out again and the settings stay with it, so
            // running the pragmas on every open (as before) parsed and ran two statements per store call.
            if (connection.Handle is { } handle && !Configured.TryGetValue(handle, out _))
            {
                await using var command = connection.CreateCommand();

                // synchronous=FULL even in WAL mode: the relay acknowledges a message once its commit returns, and
                // NORMAL would let the last commits vanish on power loss. The cost is one fsync per commit, which
                // the inbox store amortises by committing waiting messages together.
                command.CommandText = "PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000;";
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                Configured.TryAdd(handle, ConfiguredMark);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
