using Microsoft.Data.Sqlite;

namespace Self.Network.Storage.Sqlite;

/// <summary><see cref="IIdentityStore"/> on SQLite.</summary>
internal sealed class SqliteIdentityStore(SqliteDatabase database) : IIdentityStore, IStorageInitializer, IDescribedStore
{
    /// <inheritdoc />
    public string Description => "SQLite " + database.Path;

    /// <inheritdoc />
    public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask<CreateIdentityResult> CreateAsync(
        IdentityRecord identity,
        IReadOnlyList<string> history,
        IReadOnlyCollection<string> deviceIds,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(deviceIds);
        if (history.Count == 0)
        {
            throw new ArgumentException("A history needs at least its root operation.", nameof(history));
        }

        return database.WriteAsync(
            async (connection, transaction, ct) =>
            {
                await using (var insert = connection.CreateCommand())
                {
                    insert.Transaction = transaction;
                    insert.CommandText = """
                        INSERT INTO identities (id, type, name, image, created_at) VALUES ($id, $type, $name, $image, $created)
                        ON CONFLICT (id) DO NOTHING
                        """;
                    insert.Parameters.AddWithValue("$id", identity.Id);
                    insert.Parameters.AddWithValue("$type", (int)identity.Type);
                    insert.Parameters.AddWithValue("$name", (object?)identity.Name ?? DBNull.Value);
                    insert.Parameters.AddWithValue("$image", (object?)identity.Image ?? DBNull.Value);
                    insert.Parameters.AddWithValue("$created", identity.CreatedAt.ToUnixTimeMilliseconds());
                    if (await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                    {
                        return CreateIdentityResult.IdTaken;
                    }
                }

                if (identity.RootKey is not null)
                {
                    await using var root = connection.CreateCommand();
                    root.Transaction = transaction;
                    root.CommandText = "INSERT INTO root_keys (root_key, identity_id) VALUES ($key, $id) ON CONFLICT (root_key) DO NOTHING";
                    root.Parameters.AddWithValue("$key", identity.RootKey);
                    root.Parameters.AddWithValue("$id", identity.Id);
                    if (await root.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                    {
                        // The identity row above must not stay: roll back, which also tells WriteAsync not to commit.
                        transaction.Rollback();
                        return CreateIdentityResult.RootTaken;
                    }
                }

                for (var sequence = 0; sequence < history.Count; sequence++)
                {
                    await InsertOperationAsync(connection, transaction, identity.Id, sequence, history[sequence], ct).ConfigureAwait(false);
                }

                foreach (var deviceId in deviceIds)
                {
                    await SqliteDeviceStore.ActivateAsync(connection, transaction, identity.Id, deviceId, null, ct).ConfigureAwait(false);
                }

                return CreateIdentityResult.Created;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<IdentityRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        // Asked for every message the relay takes: a leased connection keeps the statement prepared.
        await using var lease = await database.LeaseAsync(cancellationToken).ConfigureAwait(false);
        var command = lease.Command("SELECT type, name, image, created_at FROM identities WHERE id = $id", ("$id", SqliteType.Text));
        command.Parameters[0].Value = id;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new IdentityRecord(
            id,
            (IdentityType)reader.GetInt32(0),
            reader.IsDBNull(1) ? null : reader.GetString(1),
            reader.IsDBNull(2) ? null : reader.GetString(2),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)));
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> GetHistoryAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT operation FROM history WHERE identity_id = $id ORDER BY sequence";
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var operations = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            operations.Add(reader.GetString(0));
        }

        return operations;
    }

    /// <inheritdoc />
    public ValueTask<bool> AppendHistoryAsync(string id, HistoryAppend append, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(append);
        return database.WriteAsync(
            async (connection, transaction, ct) =>
            {
                await using (var count = connection.CreateCommand())
                {
                    count.Transaction = transaction;
                    count.CommandText = "SELECT COUNT(*) FROM history WHERE identity_id = $id";
                    count.Parameters.AddWithValue("$id", id);
                    var held = (long)(await count.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
                    if (held == 0 || held != append.Sequence)
                    {
                        return false;
                    }
                }

                await InsertOperationAsync(connection, transaction, id, append.Sequence, append.Operation, ct).ConfigureAwait(false);
                foreach (var deviceId in append.ActivatedDevices)
                {
                    await SqliteDeviceStore.ActivateAsync(connection, transaction, id, deviceId, null, ct).ConfigureAwait(false);
                    await SqliteDeviceStore.ClearOneTimeKeysAsync(connection, transaction, id, deviceId, ct).ConfigureAwait(false);
                }

                foreach (var deviceId in append.DeactivatedDevices)
                {
                    await SqliteDeviceStore.DeactivateAsync(connection, transaction, id, deviceId, ct).ConfigureAwait(false);
                }

                return true;
            },
            cancellationToken);
    }

    private static async ValueTask InsertOperationAsync(
        SqliteConnection connection,
        SqliteTransaction transaction,
        string id,
        long sequence,
        string operation,
        CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO history (identity_id, sequence, operation) VALUES ($id, $sequence, $operation)";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$sequence", sequence);
        command.Parameters.AddWithValue("$operation", operation);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
