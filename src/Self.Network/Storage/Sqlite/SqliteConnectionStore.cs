using Microsoft.Data.Sqlite;
using Self.Protocol.Rest;

namespace Self.Network.Storage.Sqlite;

/// <summary><see cref="IConnectionStore"/> on SQLite. A revoked permit stays as a tombstone so that an older permit cannot revive it.</summary>
internal sealed class SqliteConnectionStore(SqliteDatabase database) : IConnectionStore, IStorageInitializer
{
    /// <inheritdoc />
    public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask<PutPermitResult> PutAsync(StoredPermit permit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(permit);
        return database.WriteAsync(
            async (connection, transaction, ct) =>
            {
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;

                // The WHERE clause of the upsert keeps a newer permit or revoke: then no row changes.
                command.CommandText = """
                    INSERT INTO connections (identity_id, source, expires_at, issued_at, revoked) VALUES ($id, $source, $expires, $issued, 0)
                    ON CONFLICT (identity_id, source) DO UPDATE SET expires_at = excluded.expires_at, issued_at = excluded.issued_at, revoked = 0
                    WHERE connections.issued_at <= excluded.issued_at
                    """;
                command.Parameters.AddWithValue("$id", permit.IdentityId);
                command.Parameters.AddWithValue("$source", permit.Permit.Source);
                command.Parameters.AddWithValue("$expires", permit.Permit.Expires.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$issued", permit.IssuedAt.ToUnixTimeMilliseconds());
                return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) > 0 ? PutPermitResult.Stored : PutPermitResult.Stale;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<RevokePermitResult> RevokeAsync(
        string identityId,
        string source,
        DateTimeOffset issuedAt,
        DateTimeOffset now,
        CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            async (connection, transaction, ct) =>
            {
                long storedIssuedAt;
                await using (var select = connection.CreateCommand())
                {
                    select.Transaction = transaction;
                    select.CommandText = """
                        SELECT issued_at FROM connections
                        WHERE identity_id = $id AND source = $source AND revoked = 0 AND expires_at > $now
                        """;
                    select.Parameters.AddWithValue("$id", identityId);
                    select.Parameters.AddWithValue("$source", source);
                    select.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
                    if (await select.ExecuteScalarAsync(ct).ConfigureAwait(false) is not long value)
                    {
                        return RevokePermitResult.NotFound;
                    }

                    storedIssuedAt = value;
                }

                if (storedIssuedAt > issuedAt.ToUnixTimeMilliseconds())
                {
                    return RevokePermitResult.Stale;
                }

                await using var update = connection.CreateCommand();
                update.Transaction = transaction;
                update.CommandText = "UPDATE connections SET revoked = 1, issued_at = $issued WHERE identity_id = $id AND source = $source";
                update.Parameters.AddWithValue("$id", identityId);
                update.Parameters.AddWithValue("$source", source);
                update.Parameters.AddWithValue("$issued", issuedAt.ToUnixTimeMilliseconds());
                await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                return RevokePermitResult.Revoked;
            },
            cancellationToken);

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<StoredPermit>> ListAsync(string identityId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT source, expires_at, issued_at FROM connections
            WHERE identity_id = $id AND revoked = 0 AND expires_at > $now ORDER BY source
            """;
        command.Parameters.AddWithValue("$id", identityId);
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var permits = new List<StoredPermit>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            permits.Add(new StoredPermit(
                identityId,
                new ConnectionPermit(reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
        }

        return permits;
    }

    /// <inheritdoc />
    public async ValueTask<bool> IsPermittedAsync(string identityId, string source, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        // Asked for every message to a person: a leased connection keeps the statement prepared.
        await using var lease = await database.LeaseAsync(cancellationToken).ConfigureAwait(false);
        var command = lease.Command(
            "SELECT 1 FROM connections WHERE identity_id = $id AND source IN ($source, '*') AND revoked = 0 AND expires_at > $now LIMIT 1",
            ("$id", SqliteType.Text), ("$source", SqliteType.Text), ("$now", SqliteType.Integer));
        command.Parameters[0].Value = identityId;
        command.Parameters[1].Value = source;
        command.Parameters[2].Value = now.ToUnixTimeMilliseconds();
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }
}
