using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Self.Messaging.Tests.Infrastructure;
using Self.Protocol;
using Self.Protocol.Identifiers;

namespace Self.Messaging.Tests;

public sealed class ClientStoreTests
{
    private static readonly Address Owner = new("84099724068", "1");

    [Fact]
    public async Task OpenAsync_WrongStorageKey_ThrowsStorageKeyExceptionAndKeepsData()
    {
        var folder = TempDirectory.Create("store");
        await using (var store = await ClientStore.OpenAsync(folder, Owner, "right-key"))
        {
            await store.SaveAccountAsync("account bytes"u8);
        }

        var error = await Assert.ThrowsAsync<StorageKeyException>(() => ClientStore.OpenAsync(folder, Owner, "wrong-key"));
        Assert.Equal("storage_key_mismatch", error.ErrorCode);
        Assert.Contains("storage key", error.Message);

        await using var reopened = await ClientStore.OpenAsync(folder, Owner, "right-key");
        Assert.False(reopened.IsNew);
        Assert.Equal("account bytes"u8.ToArray(), await reopened.LoadAccountAsync());
    }

    [Fact]
    public async Task Secrets_AreStoredOnlyEncrypted()
    {
        var folder = TempDirectory.Create("store");
        var secret = Encoding.UTF8.GetBytes("very-secret-olm-state-" + Guid.NewGuid());
        string path;
        await using (var store = await ClientStore.OpenAsync(folder, Owner, "k"))
        {
            path = store.FilePath;
            await store.CommitAsync(store.CreateBatch()
                .SaveAccount(secret)
                .SaveSession("5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0:1", "session-1", secret, 1)
                .SetValue("recovery", secret));
        }

        var raw = new List<byte[]>();
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            foreach (var sql in new[] { "SELECT blob FROM account", "SELECT blob FROM sessions", "SELECT blob FROM kv" })
            {
                await using var command = connection.CreateCommand();
                command.CommandText = sql;
                raw.Add((byte[])(await command.ExecuteScalarAsync())!);
            }
        }

        Assert.Equal(3, raw.Count);
        Assert.All(raw, blob => Assert.Equal(-1, blob.AsSpan().IndexOf(secret.AsSpan(0, 16))));
        Assert.All(raw, blob => Assert.True(blob.Length > secret.Length));
    }

    [Fact]
    public async Task SessionBlob_MovedToAnotherRow_IsRefused()
    {
        var folder = TempDirectory.Create("store");
        string path;
        await using (var store = await ClientStore.OpenAsync(folder, Owner, "k"))
        {
            path = store.FilePath;
            await store.CommitAsync(store.CreateBatch()
                .SaveSession("5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0:1", "a", "state-a"u8, 1)
                .SaveSession("5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0:2", "b", "state-b"u8, 1));
        }

        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE sessions SET blob = (SELECT blob FROM sessions WHERE session_id = 'a') WHERE session_id = 'b'";
            await command.ExecuteNonQueryAsync();
        }

        await using var reopened = await ClientStore.OpenAsync(folder, Owner, "k");
        Assert.Equal("state-a"u8.ToArray(), (await reopened.LoadSessionsAsync("5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0:1")).Single().State);
        await Assert.ThrowsAsync<StorageKeyException>(() => reopened.LoadSessionsAsync("5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0:2"));
    }

    [Fact]
    public async Task Batch_CommitsOffsetSessionsAndJtiTogether_AndSurvivesReopen()
    {
        var folder = TempDirectory.Create("store");
        var expires = TimeProvider.System.GetUtcNow().AddDays(1);
        await using (var store = await ClientStore.OpenAsync(folder, Owner, "k"))
        {
            Assert.True(store.IsNew);
            Assert.Equal(0, await store.GetProcessedOffsetAsync());
            await store.CommitAsync(store.CreateBatch()
                .SetProcessedOffset(7)
                .SaveSession("5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0:1", "s1", "one"u8, 10)
                .SaveSession("5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0:1", "s2", "two"u8, 20)
                .AddSeenJti("jti-1", expires));
            await store.CommitAsync(store.CreateBatch().SetProcessedOffset(3));
        }

        await using var reopened = await ClientStore.OpenAsync(folder, Owner, "k");
        Assert.Equal(7, await reopened.GetProcessedOffsetAsync());
        Assert.True(await reopened.HasSeenJtiAsync("jti-1"));
        Assert.False(await reopened.HasSeenJtiAsync("jti-2"));
        var sessions = await reopened.LoadSessionsAsync("5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0:1");
        Assert.Equal(["s2", "s1"], sessions.Select(s => s.SessionId));
        Assert.Equal("two"u8.ToArray(), sessions[0].State);
    }

    [Fact]
    public async Task Batch_FailingStatement_CommitsNothing()
    {
        var folder = TempDirectory.Create("store");
        await using var store = await ClientStore.OpenAsync(folder, Owner, "k");
        await store.CommitAsync(store.CreateBatch().SetProcessedOffset(9));

        await using (var connection = new SqliteConnection($"Data Source={store.FilePath};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "CREATE TRIGGER refuse_offset BEFORE UPDATE ON state BEGIN SELECT RAISE(ABORT, 'refused'); END;";
            await command.ExecuteNonQueryAsync();
        }

        var failing = store.CreateBatch().SaveOpenRequest("cid3", "{}", TimeProvider.System.GetUtcNow()).SetProcessedOffset(11);
        await Assert.ThrowsAsync<SqliteException>(() => store.CommitAsync(failing));
        Assert.Equal(9, await store.GetProcessedOffsetAsync());
        Assert.Null(await store.GetOpenRequestAsync("cid3"));
    }

    [Fact]
    public async Task OpenRequests_SaveReadRemove()
    {
        var folder = TempDirectory.Create("store");
        await using var store = await ClientStore.OpenAsync(folder, Owner, "k");
        var expires = DateTimeOffset.FromUnixTimeSeconds(TimeProvider.System.GetUtcNow().ToUnixTimeSeconds() + 300);

        await store.SaveOpenRequestAsync("cid-1", """{"user":"84099724068"}""", expires);
        await store.SaveOpenRequestAsync("cid-2", """{"user":"-"}""", expires.AddMinutes(1));

        var one = await store.GetOpenRequestAsync("cid-1");
        Assert.Equal("""{"user":"84099724068"}""", one!.Json);
        Assert.Equal(expires, one.Expires);
        Assert.Equal(["cid-1", "cid-2"], (await store.GetOpenRequestsAsync()).Select(r => r.ConversationId));
        await store.RemoveOpenRequestAsync("cid-1");
        Assert.Null(await store.GetOpenRequestAsync("cid-1"));
    }

    [Fact]
    public async Task KeyValue_RoundTripsAndRemoves()
    {
        var folder = TempDirectory.Create("store");
        await using var store = await ClientStore.OpenAsync(folder, Owner, "k");

        await store.SetStringAsync("recovery-key", "kid:seed");
        Assert.Equal("kid:seed", await store.GetStringAsync("recovery-key"));
        await store.SetStringAsync("recovery-key", "kid:seed2");
        Assert.Equal("kid:seed2", await store.GetStringAsync("recovery-key"));
        await store.RemoveValueAsync("recovery-key");
        Assert.Null(await store.GetStringAsync("recovery-key"));
    }

    [Fact]
    public async Task PruneExpiredAsync_RemovesOnlyExpiredJtis()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var folder = TempDirectory.Create("store");
        await using var store = await ClientStore.OpenAsync(folder, Owner, "k", time);
        await store.CommitAsync(store.CreateBatch()
            .AddSeenJti("short", time.GetUtcNow().AddMinutes(1))
            .AddSeenJti("long", time.GetUtcNow().AddDays(2)));

        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, await store.PruneExpiredAsync());

        Assert.False(await store.HasSeenJtiAsync("short"));
        Assert.True(await store.HasSeenJtiAsync("long"));
    }

    [Fact]
    public async Task OpenAsync_TwoAddresses_UseSeparateFiles()
    {
        var folder = TempDirectory.Create("store");
        await using var first = await ClientStore.OpenAsync(folder, Owner, "k");
        await using var second = await ClientStore.OpenAsync(folder, new Address("84099724068", "2"), "other-key");

        await first.CommitAsync(first.CreateBatch().SetProcessedOffset(5));

        Assert.NotEqual(first.FilePath, second.FilePath);
        Assert.Equal(0, await second.GetProcessedOffsetAsync());
    }
}
