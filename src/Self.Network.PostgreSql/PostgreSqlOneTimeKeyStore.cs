using Npgsql;
using Self.Network.Storage;
using Self.Protocol.Keys;

namespace Self.Network.PostgreSql;

/// <summary>
/// <see cref="IOneTimeKeyStore"/> on PostgreSQL. A pop deletes the oldest key it can lock, skipping keys that a
/// concurrent pop (on this or another instance) holds, so no key is handed out twice and no caller waits for another.
/// </summary>
internal sealed class PostgreSqlOneTimeKeyStore(PostgreSqlDatabase database) : IOneTimeKeyStore, IStorageInitializer
{
    /// <inheritdoc />
    public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> AddAsync(
        string identityId,
        string deviceId,
        IReadOnlyList<OneTimeKey> keys,
        int maxHeld,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var ids = new string[keys.Count];
        var values = new string[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            ids[i] = keys[i].Id;
            values[i] = keys[i].Key;
        }

        return database.InTransactionAsync(
            async (connection, transaction, ct) =>
            {
                // Uploads for one device take turns, so two of them cannot both pass the limit check.
                await using (var turn = new NpgsqlCommand(
                    "SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 7))",
                    connection,
                    transaction).Text(identityId).Text(deviceId))
                {
                    await turn.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                // ORDER BY gives the keys of one upload their positions in the order they were sent; a key id that is
                // already held (or repeated within the upload) keeps its first key.
                await using (var insert = new NpgsqlCommand(
                    """
                    INSERT INTO one_time_keys (identity_id, device_id, key_id, key)
                    SELECT $1, $2, k.key_id, k.key FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS k(key_id, key, ordinality)
                    ORDER BY k.ordinality
                    ON CONFLICT (identity_id, device_id, key_id) DO NOTHING
                    """,
                    connection,
                    transaction).Text(identityId).Text(deviceId).TextArray(ids).TextArray(values))
                {
                    await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                long held;
                await using (var count = new NpgsqlCommand(
                    "SELECT COUNT(*) FROM one_time_keys WHERE identity_id = $1 AND device_id = $2",
                    connection,
                    transaction).Text(identityId).Text(deviceId))
                {
                    held = (long)(await count.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
                }

                // Over the limit: roll back, adding nothing.
                return held <= maxHeld;
            },
            cancellationToken,
            commitIf: static added => added);
    }

    /// <inheritdoc />
    public async ValueTask<OneTimeKey?> PopAsync(string identityId, string deviceId, CancellationToken cancellationToken = default)
    {
        await using var command = (await database.CommandAsync(
            """
            DELETE FROM one_time_keys k
            USING (
                SELECT identity_id, device_id, key_id FROM one_time_keys
                WHERE identity_id = $1 AND device_id = $2
                ORDER BY position LIMIT 1
                FOR UPDATE SKIP LOCKED
            ) oldest
            WHERE k.identity_id = oldest.identity_id AND k.device_id = oldest.device_id AND k.key_id = oldest.key_id
            RETURNING k.key_id, k.key
            """,
            cancellationToken).ConfigureAwait(false)).Text(identityId).Text(deviceId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new OneTimeKey(reader.GetString(0), reader.GetString(1))
            : null;
    }

    /// <inheritdoc />
    public async ValueTask<int> CountAsync(string identityId, string deviceId, CancellationToken cancellationToken = default)
    {
        await using var command = (await database.CommandAsync(
            "SELECT COUNT(*) FROM one_time_keys WHERE identity_id = $1 AND device_id = $2",
            cancellationToken).ConfigureAwait(false)).Text(identityId).Text(deviceId);
        return (int)(long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}
