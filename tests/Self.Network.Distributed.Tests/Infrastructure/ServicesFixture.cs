using Npgsql;
using Self.Network.Nats;
using Self.Network.PostgreSql;

namespace Self.Network.Distributed.Tests.Infrastructure;

/// <summary>
/// One real PostgreSQL and one real nats-server for the whole test run, started by the tests themselves. Each test
/// isolates itself in a schema and a stream (with its own subjects) of its own. When a server cannot be started, every
/// test of the collection fails with the reason (naming the missing package): nothing is skipped.
/// </summary>
public sealed class ServicesFixture : IAsyncLifetime
{
    private PostgresServer? _postgres;
    private NatsServer? _nats;

    public PostgresServer Postgres => _postgres ?? throw new InvalidOperationException("PostgreSQL is not started.");

    public NatsServer Nats => _nats ?? throw new InvalidOperationException("NATS is not started.");

    public async Task InitializeAsync()
    {
        var postgres = PostgresServer.StartAsync();
        var nats = NatsServer.StartSharedAsync();
        try
        {
            await Task.WhenAll(postgres, nats);
        }
        catch
        {
            // Say everything that is missing at once, and stop whatever did start.
            var reasons = new Task[] { postgres, nats }.Where(static t => t.IsFaulted).Select(static t => t.Exception!.InnerException!.Message);
            var failure = new InvalidOperationException(string.Join(Environment.NewLine, reasons));
            if (postgres.IsCompletedSuccessfully)
            {
                await postgres.Result.DisposeAsync();
            }

            if (nats.IsCompletedSuccessfully)
            {
                await nats.Result.DisposeAsync();
            }

            throw failure;
        }

        _postgres = postgres.Result;
        _nats = nats.Result;
    }

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }

        if (_nats is not null)
        {
            await _nats.DisposeAsync();
        }
    }

    /// <summary>Registry options on a schema no other test uses.</summary>
    public SelfPostgreSqlOptions NewPostgreSql(string? schema = null) => new()
    {
        ConnectionString = Postgres.ConnectionString,
        Schema = schema ?? "t_" + Guid.NewGuid().ToString("N")[..16],
    };

    /// <summary>Inbox options on a stream and subjects no other test uses.</summary>
    public SelfNatsOptions NewNats(string? name = null)
    {
        name ??= "t" + Guid.NewGuid().ToString("N")[..16];
        return new SelfNatsOptions
        {
            Url = Nats.Url,
            StreamName = "SELF_INBOX_" + name,
            InboxSubjectPrefix = name + ".inbox",
            NotifySubjectPrefix = name + ".notify",
            ClaimSubjectPrefix = name + ".claims",
        };
    }

    /// <summary>Drops a test's schema (the cluster is thrown away anyway; this keeps an external one clean).</summary>
    public async Task DropSchemaAsync(string schema)
    {
        await using var connection = new NpgsqlConnection(Postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE", connection);
        await command.ExecuteNonQueryAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ServicesCollection : ICollectionFixture<ServicesFixture>
{
    public const string Name = "PostgreSQL and NATS";
}
