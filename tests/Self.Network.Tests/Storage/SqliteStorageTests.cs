using Self.Network.Storage;
using Self.Network.Storage.Sqlite;

namespace Self.Network.Tests.Storage;

/// <summary>Builds the SQLite backend in a fresh temporary folder.</summary>
internal static class SqliteBackend
{
    public static Task<StorageBackend> CreateAsync(string? directory = null)
    {
        directory ??= TempDirectory.Create();
        var database = new SqliteDatabase(Path.Combine(directory, "self-network.db"));
        var inboxes = new SqliteInboxStore(database);
        return Task.FromResult(new StorageBackend(
            new SqliteIdentityStore(database),
            new SqliteDeviceStore(database),
            new SqliteOneTimeKeyStore(database),
            new SqliteConnectionStore(database),
            inboxes,
            async () =>
            {
                await inboxes.DisposeAsync();
                await database.DisposeAsync();
            }));
    }
}

public sealed class SqliteIdentityStoreTests : IdentityStoreContract
{
    protected override Task<StorageBackend> CreateBackendAsync() => SqliteBackend.CreateAsync();
}

public sealed class SqliteDeviceStoreTests : DeviceStoreContract
{
    protected override Task<StorageBackend> CreateBackendAsync() => SqliteBackend.CreateAsync();
}

public sealed class SqliteOneTimeKeyStoreTests : OneTimeKeyStoreContract
{
    protected override Task<StorageBackend> CreateBackendAsync() => SqliteBackend.CreateAsync();
}

public sealed class SqliteConnectionStoreTests : ConnectionStoreContract
{
    protected override Task<StorageBackend> CreateBackendAsync() => SqliteBackend.CreateAsync();
}

public sealed class SqliteInboxStoreTests : InboxStoreContract
{
    protected override Task<StorageBackend> CreateBackendAsync() => SqliteBackend.CreateAsync();

    [Fact]
    public async Task AppendAsync_ThenReopenTheFile_MessagesAndOffsetsSurvive()
    {
        var directory = TempDirectory.Create();
        var inbox = "12345678901:1";
        var first = await SqliteBackend.CreateAsync(directory);
        var offset = await first.Inboxes.AppendAsync(inbox, 42, new byte[] { 7, 7 });
        await first.Dispose();

        var second = await SqliteBackend.CreateAsync(directory);
        try
        {
            var read = Assert.Single(await second.Inboxes.ReadAsync(inbox, 0, 10));
            Assert.Equal(offset, read.Offset);
            Assert.Equal(new byte[] { 7, 7 }, read.Frame.ToArray());
            Assert.True(await second.Inboxes.AppendAsync(inbox, 43, new byte[] { 8 }) > offset);
        }
        finally
        {
            await second.Dispose();
        }
    }

    [Fact]
    public async Task InitializeAsync_NewFile_UsesWriteAheadLogging()
    {
        var directory = TempDirectory.Create();
        var database = new SqliteDatabase(Path.Combine(directory, "wal.db"));
        try
        {
            await using var connection = await database.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode;";
            Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
            command.CommandText = "PRAGMA synchronous;";
            Assert.Equal(2L, (long?)await command.ExecuteScalarAsync()); // FULL
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    [Fact]
    public async Task OpenAsync_PooledConnectionsOpenedAgain_KeepSynchronousFullAndTheBusyTimeout()
    {
        // The pragmas run once per SQLite handle; every later open of a pooled handle must still have them.
        var directory = TempDirectory.Create();
        var database = new SqliteDatabase(Path.Combine(directory, "pool.db"));
        try
        {
            for (var open = 0; open < 5; open++)
            {
                await using var first = await database.OpenAsync();
                await using var second = await database.OpenAsync();
                foreach (var connection in new[] { first, second })
                {
                    await using var command = connection.CreateCommand();
                    command.CommandText = "PRAGMA synchronous;";
                    Assert.Equal(2L, (long?)await command.ExecuteScalarAsync()); // FULL
                    command.CommandText = "PRAGMA busy_timeout;";
                    Assert.Equal(30000L, (long?)await command.ExecuteScalarAsync());
                }
            }
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    [Fact]
    public async Task LeaseAsync_ReusesOneConnectionWithItsPreparedCommands_AndDisposeClosesThem()
    {
        var directory = TempDirectory.Create();
        var database = new SqliteDatabase(Path.Combine(directory, "lease.db"));
        SqliteLease first;
        Microsoft.Data.Sqlite.SqliteCommand command;
        await using (first = await database.LeaseAsync())
        {
            command = first.Command("SELECT $x + 1", ("$x", Microsoft.Data.Sqlite.SqliteType.Integer));
            command.Parameters[0].Value = 41;
            Assert.Equal(42L, (long?)await command.ExecuteScalarAsync());
        }

        await using (var again = await database.LeaseAsync())
        {
            // Given back and lent again: the same connection and the same (prepared) command.
            Assert.Same(first, again);
            var same = again.Command("SELECT $x + 1", ("$x", Microsoft.Data.Sqlite.SqliteType.Integer));
            Assert.Same(command, same);
            same.Parameters[0].Value = 1;
            Assert.Equal(2L, (long?)await same.ExecuteScalarAsync());

            // Two callers at once get two connections.
            await using var second = await database.LeaseAsync();
            Assert.NotSame(again, second);
        }

        await database.DisposeAsync();
        Assert.Equal(System.Data.ConnectionState.Closed, first.Connection.State);
    }
}
