using Self.Network.Storage;

namespace Self.Network.PostgreSql;

/// <summary>
/// <see cref="ITokenReplayStore"/> on PostgreSQL: one table for every instance of the network, so a token accepted by
/// one instance is refused by all the others. Expired entries are swept now and then by whichever instance is busy.
/// </summary>
internal sealed class PostgreSqlTokenReplayStore(PostgreSqlDatabase database) : ITokenReplayStore, IStorageInitializer
{
    private const int PruneEvery = 256;
    private int _calls;

    /// <inheritdoc />
    public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask<bool> TryRememberAsync(string issuer, string jti, DateTimeOffset until, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var key = TokenReplayKey.Of(issuer, jti);
        if (Interlocked.Increment(ref _calls) % PruneEvery == 0)
        {
            await using var sweep = (await database.CommandAsync("DELETE FROM token_replays WHERE expires_at < $1", cancellationToken).ConfigureAwait(false)).Time(now);
            await sweep.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // The upsert is atomic per key: of two instances racing with one token, exactly one gets a row back.
        await using var command = (await database.CommandAsync(
            """
            INSERT INTO token_replays (token_key, expires_at) VALUES ($1, $2)
            ON CONFLICT (token_key) DO UPDATE SET expires_at = excluded.expires_at WHERE token_replays.expires_at < $3
            """,
            cancellationToken).ConfigureAwait(false)).Text(key).Time(until).Time(now);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>How many token ids are remembered now (for tests and operators).</summary>
    public async ValueTask<long> CountAsync(CancellationToken cancellationToken = default)
    {
        await using var command = await database.CommandAsync("SELECT count(*) FROM token_replays", cancellationToken).ConfigureAwait(false);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}
