using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Self.Network.Storage;

namespace Self.Network.PostgreSql;

/// <summary>
/// The PostgreSQL database behind every registry store of one network: a pooled <see cref="NpgsqlDataSource"/> whose
/// search path is the registry's schema, the schema's migrations, and transactions that are retried when PostgreSQL
/// picks them as a deadlock victim. Several server instances share one database.
/// </summary>
internal sealed class PostgreSqlDatabase : IStorageInitializer, IAsyncDisposable
{
    private const int MaxAttempts = 3;

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _initGate = new(1, 1);
    private volatile bool _initialized;

    /// <summary>Connects with <paramref name="options"/> (validated now); nothing is opened until first use.</summary>
    public PostgreSqlDatabase(SelfPostgreSqlOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Schema = options.Schema;
        var builder = new NpgsqlDataSourceBuilder(options.ConnectionString);
        builder.ConnectionStringBuilder.SearchPath = options.Schema;
        builder.ConnectionStringBuilder.ApplicationName ??= "self-network";
        if (loggerFactory is not null)
        {
            builder.UseLoggerFactory(options.LogCommands ? loggerFactory : new QuietLoggerFactory(loggerFactory));
        }

        var connection = builder.ConnectionStringBuilder;
        Description = $"PostgreSQL {connection.Username ?? "(default user)"}@{connection.Host ?? "localhost"}:{connection.Port}/{connection.Database ?? "(default database)"}, schema {options.Schema}";
        _dataSource = builder.Build();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<PostgreSqlDatabase>();
    }

    /// <summary>Where the registry lives, without credentials: <c>PostgreSQL user@host:port/database, schema …</c>.</summary>
    public string Description { get; }

    /// <summary>The schema that holds the registry's tables.</summary>
    public string Schema { get; }

    /// <summary>The version of the newest schema step this server knows.</summary>
    public static int SchemaVersion => Migrations.Latest;

    /// <summary>
    /// Creates the schema and applies the steps it lacks (idempotent, safe when several instances start at once).
    /// Fails when the database holds a newer schema than this server knows.
    /// </summary>
    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default)
    {
        if (_initialized)
        {
            return;
        }

        await _initGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_initialized)
            {
                await MigrateAsync(cancellationToken).ConfigureAwait(false);
                _initialized = true;
            }
        }
        finally
        {
            _initGate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        _initGate.Dispose();
    }

    /// <summary>
    /// A command for one statement outside any explicit transaction (PostgreSQL commits it on its own); it borrows a
    /// pooled connection when it runs and returns it when disposed.
    /// </summary>
    internal async ValueTask<NpgsqlCommand> CommandAsync(string sql, CancellationToken cancellationToken)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        return _dataSource.CreateCommand(sql);
    }

    /// <summary>
    /// Runs <paramref name="work"/> in a read-committed transaction and commits it, unless <paramref name="commitIf"/>
    /// says its result is a refusal (then it rolls back). A deadlock or serialization failure reruns the work on a fresh
    /// transaction.
    /// </summary>
    internal async ValueTask<T> InTransactionAsync<T>(
        Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, ValueTask<T>> work,
        CancellationToken cancellationToken,
        Func<T, bool>? commitIf = null)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                var result = await work(connection, transaction, cancellationToken).ConfigureAwait(false);

                // Once the work is done, a half-finished commit helps no one: committing is not cancellable.
                if (commitIf?.Invoke(result) ?? true)
                {
                    await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                }

                return result;
            }
            catch (PostgresException ex) when (attempt < MaxAttempts
                && ex.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure)
            {
                // Another transaction won; everything of this attempt was rolled back, so running it again is safe.
            }
        }
    }

    private async ValueTask MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var quoted = "\"" + Schema + "\"";

        // One instance migrates at a time; the others wait here and then find nothing left to do.
        await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", cancellationToken, "self-network migrations " + Schema).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, $"CREATE SCHEMA IF NOT EXISTS {quoted}", cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, $"SET LOCAL search_path TO {quoted}", cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(
            connection,
            transaction,
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer NOT NULL PRIMARY KEY,
                description text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            cancellationToken).ConfigureAwait(false);

        int current;
        await using (var version = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", connection, transaction))
        {
            current = (int)(await version.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        if (current > Migrations.Latest)
        {
            Log.SchemaTooNew(_logger, Schema, current, Migrations.Latest);
            throw new InvalidOperationException(
                $"The PostgreSQL schema '{Schema}' is at version {current}, but this server knows only up to {Migrations.Latest}. Upgrade the server.");
        }

        foreach (var migration in Migrations.All.Where(m => m.Version > current))
        {
            await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(
                connection,
                transaction,
                "INSERT INTO schema_migrations (version, description) VALUES ($1, $2)",
                cancellationToken,
                migration.Version,
                migration.Description).ConfigureAwait(false);
            Log.MigrationApplied(_logger, migration.Version, migration.Description, Schema);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        Log.Ready(_logger, Schema, Migrations.Latest);
    }

    private static async ValueTask ExecuteAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        string sql,
        CancellationToken cancellationToken,
        params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Positional parameters (<c>$1</c>, <c>$2</c>…) with their PostgreSQL types spelled out.</summary>
internal static class NpgsqlCommandExtensions
{
    public static NpgsqlCommand Text(this NpgsqlCommand command, string? value)
    {
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value });
        return command;
    }

    public static NpgsqlCommand Bigint(this NpgsqlCommand command, long value)
    {
        command.Parameters.Add(new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint, TypedValue = value });
        return command;
    }

    public static NpgsqlCommand Integer(this NpgsqlCommand command, int value)
    {
        command.Parameters.Add(new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer, TypedValue = value });
        return command;
    }

    public static NpgsqlCommand Time(this NpgsqlCommand command, DateTimeOffset value)
    {
        // Npgsql writes timestamptz only from UTC values.
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = value.ToUniversalTime() });
        return command;
    }

    public static NpgsqlCommand TextArray(this NpgsqlCommand command, string[] values)
    {
        command.Parameters.Add(new NpgsqlParameter<string[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, TypedValue = values });
        return command;
    }
}
