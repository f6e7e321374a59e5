using Npgsql;
using Self.Network.Storage;

namespace Self.Network.PostgreSql;

/// <summary>
/// <see cref="IIdentityStore"/> on PostgreSQL. An append compare-and-sets the identity's history length, so of two
/// instances appending the same sequence exactly one wins, whichever instance each request reached.
/// </summary>
internal sealed class PostgreSqlIdentityStore(PostgreSqlDatabase database) : IIdentityStore, IStorageInitializer, IDescribedStore
{
    /// <inheritdoc />
    public string Description => database.Description;

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

        return database.InTransactionAsync(
            async (connection, transaction, ct) =>
            {
                // A concurrent create of the same id waits on the primary key, then finds it taken.
                await using (var insert = new NpgsqlCommand(
                    """
                    INSERT INTO identities (id, type, name, image, created_at, history_length) VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (id) DO NOTHING
                    """,
                    connection,
                    transaction).Text(identity.Id).Integer((int)identity.Type).Text(identity.Name).Text(identity.Image).Time(identity.CreatedAt).Bigint(history.Count))
                {
                    if (await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                    {
                        return CreateIdentityResult.IdTaken;
                    }
                }

                if (identity.RootKey is not null)
                {
                    // Two instances registering the same root race on this primary key: one commits, the other rolls back.
                    await using var root = new NpgsqlCommand(
                        "INSERT INTO root_keys (root_key, identity_id) VALUES ($1, $2) ON CONFLICT (root_key) DO NOTHING",
                        connection,
                        transaction).Text(identity.RootKey).Text(identity.Id);
                    if (await root.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                    {
                        return CreateIdentityResult.RootTaken;
                    }
                }

                await using (var operations = new NpgsqlCommand(
                    """
                    INSERT INTO history (identity_id, sequence, operation)
                    SELECT $1, o.ordinality - 1, o.operation FROM unnest($2::text[]) WITH ORDINALITY AS o(operation, ordinality)
                    """,
                    connection,
                    transaction).Text(identity.Id).TextArray([.. history]))
                {
                    await operations.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                foreach (var deviceId in deviceIds.Distinct(StringComparer.Ordinal))
                {
                    await PostgreSqlDeviceStore.ActivateAsync(connection, transaction, identity.Id, deviceId, ct).ConfigureAwait(false);
                }

                return CreateIdentityResult.Created;
            },
            cancellationToken,
            static result => result == CreateIdentityResult.Created);
    }

    /// <inheritdoc />
    public async ValueTask<IdentityRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var command = (await database.CommandAsync(
            "SELECT type, name, image, created_at FROM identities WHERE id = $1",
            cancellationToken).ConfigureAwait(false)).Text(id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new IdentityRecord(
            id,
            (IdentityType)reader.GetInt16(0),
            reader.IsDBNull(1) ? null : reader.GetString(1),
            reader.IsDBNull(2) ? null : reader.GetString(2),
            reader.GetFieldValue<DateTimeOffset>(3));
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> GetHistoryAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var command = (await database.CommandAsync(
            "SELECT operation FROM history WHERE identity_id = $1 ORDER BY sequence",
            cancellationToken).ConfigureAwait(false)).Text(id);
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
        return database.InTransactionAsync(
            async (connection, transaction, ct) =>
            {
                // Compare-and-set: a racing append of the same sequence blocks on the row lock, then sees the new
                // length and updates nothing. An unknown id updates nothing either.
                await using (var claim = new NpgsqlCommand(
                    "UPDATE identities SET history_length = history_length + 1 WHERE id = $1 AND history_length = $2",
                    connection,
                    transaction).Text(id).Bigint(append.Sequence))
                {
                    if (await claim.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                    {
                        return false;
                    }
                }

                await using (var insert = new NpgsqlCommand(
                    "INSERT INTO history (identity_id, sequence, operation) VALUES ($1, $2, $3)",
                    connection,
                    transaction).Text(id).Bigint(append.Sequence).Text(append.Operation))
                {
                    await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                foreach (var deviceId in append.ActivatedDevices)
                {
                    // The device's one-time keys belong to the Olm account of the key this operation replaces.
                    await PostgreSqlDeviceStore.ActivateAsync(connection, transaction, id, deviceId, ct).ConfigureAwait(false);
                    await PostgreSqlDeviceStore.ClearOneTimeKeysAsync(connection, transaction, id, deviceId, ct).ConfigureAwait(false);
                }

                foreach (var deviceId in append.DeactivatedDevices)
                {
                    await PostgreSqlDeviceStore.DeactivateAsync(connection, transaction, id, deviceId, ct).ConfigureAwait(false);
                }

                return true;
            },
            cancellationToken,
            commitIf: static appended => appended);
    }
}
