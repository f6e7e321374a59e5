using Microsoft.Data.Sqlite;

namespace Self.Network.Storage.Sqlite;

/// <summary><see cref="IDeviceStore"/> on SQLite.</summary>
internal sealed class SqliteDeviceStore(SqliteDatabase database) : IDeviceStore, IStorageInitializer
{
    /// <inheritdoc />
    public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> ListActiveAsync(string identityId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT device_id FROM devices WHERE identity_id = $id AND active = 1 ORDER BY rowid";
        command.Parameters.AddWithValue("$id", identityId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var devices = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            devices.Add(reader.GetString(0));
        }

        return devices;
    }

    /// <inheritdoc />
    public async ValueTask<bool> IsActiveAsync(string identityId, string deviceId, CancellationToken cancellationToken = default)
    {
        // Asked for every message the relay takes: a leased connection keeps the statement prepared.
        await using var lease = await database.LeaseAsync(cancellationToken).ConfigureAwait(false);
        var command = lease.Command(
            "SELECT 1 FROM devices WHERE identity_id = $id AND device_id = $device AND active = 1",
            ("$id", SqliteType.Text), ("$device", SqliteType.Text));
        command.Parameters[0].Value = identityId;
        command.Parameters[1].Value = deviceId;
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <inheritdoc />
    public ValueTask ActivateAsync(string identityId, string deviceId, string? platform, CancellationToken cancellationToken = default)
    {
        var done = database.WriteAsync(
            async (connection, transaction, ct) =>
            {
                await ActivateAsync(connection, transaction, identityId, deviceId, platform, ct).ConfigureAwait(false);
                return true;
            },
            cancellationToken);
        return done.IsCompletedSuccessfully ? ValueTask.CompletedTask : new ValueTask(done.AsTask());
    }

    /// <inheritdoc />
    public ValueTask<bool> DeactivateAsync(string identityId, string deviceId, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            (connection, transaction, ct) => DeactivateAsync(connection, transaction, identityId, deviceId, ct),
            cancellationToken);

    internal static async ValueTask ActivateAsync(
        SqliteConnection connection,
        SqliteTransaction transaction,
        string identityId,
        string deviceId,
        string? platform,
        CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO devices (identity_id, device_id, platform, active) VALUES ($id, $device, $platform, 1)
            ON CONFLICT (identity_id, device_id) DO UPDATE SET active = 1, platform = COALESCE(excluded.platform, devices.platform)
            """;
        command.Parameters.AddWithValue("$id", identityId);
        command.Parameters.AddWithValue("$device", deviceId);
        command.Parameters.AddWithValue("$platform", (object?)platform ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static async ValueTask<bool> DeactivateAsync(
        SqliteConnection connection,
        SqliteTransaction transaction,
        string identityId,
        string deviceId,
        CancellationToken cancellationToken)
    {
        int changed;
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "UPDATE devices SET active = 0 WHERE identity_id = $id AND device_id = $device AND active = 1";
            command.Parameters.AddWithValue("$id", identityId);
            command.Parameters.AddWithValue("$device", deviceId);
            changed = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await ClearOneTimeKeysAsync(connection, transaction, identityId, deviceId, cancellationToken).ConfigureAwait(false);
        return changed > 0;
    }

    /// <summary>
    /// Drops a device's one-time keys: they belong to the Olm account of the key the device no longer has, and a
    /// session a sender opened with one could never be decrypted.
    /// </summary>
    internal static async ValueTask ClearOneTimeKeysAsync(
        SqliteConnection connection,
        SqliteTransaction transaction,
        string identityId,
        string deviceId,
        CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "DELETE FROM one_time_keys WHERE identity_id = $id AND device_id = $device";
        command.Parameters.AddWithValue("$id", identityId);
        command.Parameters.AddWithValue("$device", deviceId);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
