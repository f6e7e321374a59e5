namespace Self.Network.Storage.Sqlite;

/// <summary><see cref="ITokenReplayStore"/> in the server's SQLite file: survives a restart of the one instance.</summary>
internal sealed class SqliteTokenReplayStore(SqliteDatabase database) : ITokenReplayStore, IStorageInitializer
{
    private const int PruneEvery = 256;
    private int _calls;

    /// <inheritdoc />
    public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> TryRememberAsync(string issuer, string jti, DateTimeOffset until, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var key = TokenReplayKey.Of(issuer, jti);
        var prune = Interlocked.Increment(ref _calls) % PruneEvery == 0;
        return database.WriteAsync(
            async (connection, transaction, ct) =>
            {
                if (prune)
                {
                    await using var sweep = connection.CreateCommand();
                    sweep.Transaction = transaction;
                    sweep.CommandText = "DELETE FROM token_replays WHERE expires_at < $now";
                    sweep.Parameters.AddWithValue("$now", now.ToUnixTimeSeconds());
                    await sweep.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                // A new key, or one whose memory has run out, is (re)written; a live one is left alone: 0 rows.
                await using var insert = connection.CreateCommand();
                insert.Transaction = transaction;
                insert.CommandText = """
                    INSERT INTO token_replays (token_key, expires_at) VALUES ($key, $until)
                    ON CONFLICT (token_key) DO UPDATE SET expires_at = excluded.expires_at WHERE token_replays.expires_at < $now
                    """;
                insert.Parameters.AddWithValue("$key", key);
                insert.Parameters.AddWithValue("$until", until.ToUnixTimeSeconds());
                insert.Parameters.AddWithValue("$now", now.ToUnixTimeSeconds());
                return await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
            },
            cancellationToken);
    }
}
