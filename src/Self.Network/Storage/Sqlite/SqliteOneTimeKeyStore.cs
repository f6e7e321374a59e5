using Self.Protocol.Keys;

namespace Self.Network.Storage.Sqlite;

/// <summary><see cref="IOneTimeKeyStore"/> on SQLite.</summary>
internal sealed class SqliteOneTimeKeyStore(SqliteDatabase database) : IOneTimeKeyStore, IStorageInitializer
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
        return database.WriteAsync(
            async (connection, transaction, ct) =>
            {
                await using (var insert = connection.CreateCommand())
                {
                    insert.Transaction = transaction;
                    insert.CommandText = """
                        INSERT INTO one_time_keys (identity_id, device_id, key_id, key) VALUES ($id, $device, $keyId, $key)
                        ON CONFLICT (identity_id, device_id, key_id) DO NOTHING
                        """;
                    insert.Parameters.AddWithValue("$id", identityId);
                    insert.Parameters.AddWithValue("$device", deviceId);
                    var keyId = insert.Parameters.Add("$keyId", Microsoft.Data.Sqlite.SqliteType.Text);
                    var key = insert.Parameters.Add("$key", Microsoft.Data.Sqlite.SqliteType.Text);
                    foreach (var oneTimeKey in keys)
                    {
                        keyId.Value = oneTimeKey.Id;
                        key.Value = oneTimeKey.Key;
                        await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                    }
                }

                await using var count = connection.CreateCommand();
                count.Transaction = transaction;
                count.CommandText = "SELECT COUNT(*) FROM one_time_keys WHERE identity_id = $id AND device_id = $device";
                count.Parameters.AddWithValue("$id", identityId);
                count.Parameters.AddWithValue("$device", deviceId);
                var held = (long)(await count.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
                if (held > maxHeld)
                {
                    await transaction.RollbackAsync(ct).ConfigureAwait(false);
                    return false;
                }

                return true;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<OneTimeKey?> PopAsync(string identityId, string deviceId, CancellationToken cancellationToken = default) =>
        database.WriteAsync<OneTimeKey?>(
            async (connection, transaction, ct) =>
            {
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = """
                    DELETE FROM one_time_keys WHERE rowid = (
                        SELECT rowid FROM one_time_keys WHERE identity_id = $id AND device_id = $device ORDER BY rowid LIMIT 1)
                    RETURNING key_id, key
                    """;
                command.Parameters.AddWithValue("$id", identityId);
                command.Parameters.AddWithValue("$device", deviceId);
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                return await reader.ReadAsync(ct).ConfigureAwait(false)
                    ? new OneTimeKey(reader.GetString(0), reader.GetString(1))
                    : null;
            },
            cancellationToken);

    /// <inheritdoc />
    public async ValueTask<int> CountAsync(string identityId, string deviceId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM one_time_keys WHERE identity_id = $id AND device_id = $device";
        command.Parameters.AddWithValue("$id", identityId);
        command.Parameters.AddWithValue("$device", deviceId);
        return (int)(long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}
