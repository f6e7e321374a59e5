using Npgsql;
using Self.Network.Storage;
using Self.Protocol.Rest;

namespace Self.Network.PostgreSql;

/// <summary>
/// <see cref="IConnectionStore"/> on PostgreSQL. A revoked permit stays as a tombstone so that an older permit cannot
/// revive it; every write compares <c>issued_at</c> in the database, so instances racing on one permit agree.
/// </summary>
internal sealed class PostgreSqlConnectionStore(PostgreSqlDatabase database) : IConnectionStore, IStorageInitializer
{
    /// <inheritdoc />
    public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask<PutPermitResult> PutAsync(StoredPermit permit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(permit);

        // The WHERE clause of the upsert keeps a newer permit or revoke: then no row changes.
        await using var command = (await database.CommandAsync(
            """
            INSERT INTO connections (identity_id, source, expires_at, issued_at, revoked) VALUES ($1, $2, $3, $4, false)
            ON CONFLICT (identity_id, source) DO UPDATE SET expires_at = excluded.expires_at, issued_at = excluded.issued_at, revoked = false
            WHERE connections.issued_at <= excluded.issued_at
            """,
            cancellationToken).ConfigureAwait(false)).Text(permit.IdentityId).Text(permit.Permit.Source).Time(permit.Permit.Expires).Time(permit.IssuedAt);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0 ? PutPermitResult.Stored : PutPermitResult.Stale;
    }

    /// <inheritdoc />
    public ValueTask<RevokePermitResult> RevokeAsync(
        string identityId,
        string source,
        DateTimeOffset issuedAt,
        DateTimeOffset now,
        CancellationToken cancellationToken = default) =>
        database.InTransactionAsync(
            async (connection, transaction, ct) =>
            {
                DateTimeOffset stored;
                await using (var select = new NpgsqlCommand(
                    """
                    SELECT issued_at FROM connections
                    WHERE identity_id = $1 AND source = $2 AND NOT revoked AND expires_at > $3
                    FOR UPDATE
                    """,
                    connection,
                    transaction).Text(identityId).Text(source).Time(now))
                {
                    await using var reader = await select.ExecuteReaderAsync(ct).ConfigureAwait(false);
                    if (!await reader.ReadAsync(ct).ConfigureAwait(false))
                    {
                        return RevokePermitResult.NotFound;
                    }

                    stored = reader.GetFieldValue<DateTimeOffset>(0);
                }

                if (stored > issuedAt)
                {
                    return RevokePermitResult.Stale;
                }

                await using var update = new NpgsqlCommand(
                    "UPDATE connections SET revoked = true, issued_at = $3 WHERE identity_id = $1 AND source = $2",
                    connection,
                    transaction).Text(identityId).Text(source).Time(issuedAt);
                await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                return RevokePermitResult.Revoked;
            },
            cancellationToken);

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<StoredPermit>> ListAsync(string identityId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var command = (await database.CommandAsync(
            """
            SELECT source, expires_at, issued_at FROM connections
            WHERE identity_id = $1 AND NOT revoked AND expires_at > $2 ORDER BY source
            """,
            cancellationToken).ConfigureAwait(false)).Text(identityId).Time(now);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var permits = new List<StoredPermit>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            permits.Add(new StoredPermit(
                identityId,
                new ConnectionPermit(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1)),
                reader.GetFieldValue<DateTimeOffset>(2)));
        }

        return permits;
    }

    /// <inheritdoc />
    public async ValueTask<bool> IsPermittedAsync(string identityId, string source, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var command = (await database.CommandAsync(
            """
            SELECT 1 FROM connections
            WHERE identity_id = $1 AND source IN ($2, '*') AND NOT revoked AND expires_at > $3 LIMIT 1
            """,
            cancellationToken).ConfigureAwait(false)).Text(identityId).Text(source).Time(now);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }
}
