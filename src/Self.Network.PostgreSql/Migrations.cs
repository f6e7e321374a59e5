namespace Self.Network.PostgreSql;

/// <summary>
/// The registry's schema, as numbered steps. A step, once released, never changes: a later change is a new step.
/// Every step runs in the transaction that records it, under an advisory lock, so instances starting together
/// apply it exactly once.
/// </summary>
internal static class Migrations
{
    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "registry tables", """
            CREATE TABLE identities (
                id text COLLATE "C" NOT NULL PRIMARY KEY,
                type smallint NOT NULL,
                name text,
                image text,
                created_at timestamptz NOT NULL,
                -- How many operations the history holds: appends compare-and-set it, so the chain stays gap-free.
                history_length bigint NOT NULL
            );

            CREATE TABLE history (
                identity_id text COLLATE "C" NOT NULL REFERENCES identities (id),
                sequence bigint NOT NULL,
                operation text NOT NULL,
                PRIMARY KEY (identity_id, sequence)
            );

            CREATE TABLE devices (
                identity_id text COLLATE "C" NOT NULL,
                device_id text COLLATE "C" NOT NULL,
                platform text,
                active boolean NOT NULL,
                registered bigint GENERATED ALWAYS AS IDENTITY,
                PRIMARY KEY (identity_id, device_id)
            );

            CREATE TABLE one_time_keys (
                identity_id text COLLATE "C" NOT NULL,
                device_id text COLLATE "C" NOT NULL,
                key_id text COLLATE "C" NOT NULL,
                key text NOT NULL,
                position bigint GENERATED ALWAYS AS IDENTITY,
                PRIMARY KEY (identity_id, device_id, key_id)
            );
            CREATE INDEX one_time_keys_oldest_first ON one_time_keys (identity_id, device_id, position);

            CREATE TABLE connections (
                identity_id text COLLATE "C" NOT NULL,
                source text COLLATE "C" NOT NULL,
                expires_at timestamptz NOT NULL,
                issued_at timestamptz NOT NULL,
                revoked boolean NOT NULL,
                PRIMARY KEY (identity_id, source)
            );
            """),
        new(2, "auth token replay memory", """
            CREATE TABLE token_replays (
                token_key text COLLATE "C" NOT NULL PRIMARY KEY,
                expires_at timestamptz NOT NULL
            );
            CREATE INDEX token_replays_by_expiry ON token_replays (expires_at);
            """),
        new(3, "one identity per root key", """
            CREATE TABLE root_keys (
                root_key text COLLATE "C" NOT NULL PRIMARY KEY,
                identity_id text COLLATE "C" NOT NULL
            );
            """),
    ];

    public static int Latest => All[^1].Version;
}

/// <summary>One schema step.</summary>
internal sealed record Migration(int Version, string Description, string Sql);
