using Npgsql;
using Self.Network.Storage;

namespace Self.Network.PostgreSql;

/// <summary><see cref="IDeviceStore"/> on PostgreSQL.</summary>
internal sealed class PostgreSqlDeviceStore(PostgreSqlDatabase database) : IDeviceStore, IStorageInitializer
{
    /// <inheritdoc />
    public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> ListActiveAsync(string identityId, CancellationToken cancellationToken = default)
    {
        await using var command = (await database.CommandAsync(
            "SELECT device_id FROM devices WHERE identity_id = $1 AND active ORDER BY registered",
            cancellationToken).ConfigureAwait(false)).Text(identityId);
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
        await using var command = (await database.CommandAsync(
            "SELECT 1 FROM devices WHERE identity_id = $1 AND device_id = $2 AND active",
            cancellationToken).ConfigureAwait(false)).Text(identityId).Text(deviceId);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <inheritdoc />
    public async ValueTask ActivateAsync(string identityId, string deviceId, string? platform, CancellationToken cancellationToken = default)
    {
        await using var command = (await database.CommandAsync(ActivateSql, cancellationToken).ConfigureAwait(false))
            .Text(identityId).Text(deviceId).Text(platform);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<bool> DeactivateAsync(string identityId, string deviceId, CancellationToken cancellationToken = default) =>
        database.InTransactionAsync(
            (connection, transaction, ct) => DeactivateAsync(connection, transaction, identityId, deviceId, ct),
            cancellationToken);

    /// <summary>Registers the device, or makes it active again keeping its first registration's place in the order.</summary>
    internal const string ActivateSql = """
        INSERT INTO devices (identity_id, device_id, platform, active) VALUES ($1, $2, $3, true)
        ON CONFLICT (identity_id, device_id) DO UPDATE SET active = true, platform = COALESCE(excluded.platform, devices.platform)
        """;

    internal static async ValueTask ActivateAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        string identityId,
        string deviceId,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(ActivateSql, connection, transaction).Text(identityId).Text(deviceId).Text(null);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static async ValueTask<bool> DeactivateAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        string identityId,
        string deviceId,
        CancellationToken cancellationToken)
    {
        int changed;
        await using (var command = new NpgsqlCommand(
            "UPDATE devices SET active = false WHERE identity_id = $1 AND device_id = $2 AND active",
            connection,
            transaction).Text(identityId).Text(deviceId))
        {
            changed = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await ClearOneTimeKeysAsync(connection, transaction, identityId, deviceId, cancellationToken).ConfigureAwait(false);
        return changed > 0;
    }

    internal static async ValueTask ClearOneTimeKeysAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        string identityId,
        string deviceId,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "DELETE FROM one_time_keys WHERE identity_id = $1 AND device_id = $2",
            connection,
            transaction).Text(identityId).Text(deviceId);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
