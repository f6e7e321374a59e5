using Microsoft.Extensions.Logging;
using Npgsql;
using Self.Network.Distributed.Tests.Infrastructure;
using Self.Network.PostgreSql;
using Self.Network.Storage;
using Self.Protocol.Rest;
using Self.Protocol.Keys;

namespace Self.Network.Distributed.Tests.Storage;

/// <summary>What the PostgreSQL registry adds to the contract: a schema that many instances share and migrate safely.</summary>
[Collection(ServicesCollection.Name)]
public sealed class PostgreSqlRegistryTests(ServicesFixture services) : IAsyncLifetime
{
    private readonly List<PostgreSqlDatabase> _databases = [];
    private readonly SelfPostgreSqlOptions _options = services.NewPostgreSql();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }

        await services.DropSchemaAsync(_options.Schema);
    }

    [Fact]
    public async Task InitializeAsync_EightInstancesStartingTogether_MigrateOnceAndAllWork()
    {
        var instances = Enumerable.Range(0, 8).Select(_ => Instance()).ToList();

        await Task.WhenAll(instances.Select(static d => Task.Run(() => d.InitializeAsync().AsTask())));

        Assert.Equal(
            Enumerable.Range(1, PostgreSqlDatabase.SchemaVersion).Select(static v => (long)v),
            await QueryAsync<long>("SELECT version::bigint FROM schema_migrations ORDER BY version"));
        var id = "84099724068";
        Assert.Equal(CreateIdentityResult.Created, await new PostgreSqlIdentityStore(instances[0]).CreateAsync(User(id), ["op0"], ["1"]));
        Assert.Equal(["op0"], await new PostgreSqlIdentityStore(instances[7]).GetHistoryAsync(id));
    }

    [Fact]
    public async Task InitializeAsync_AgainOnAMigratedSchema_ChangesNothing()
    {
        await Instance().InitializeAsync();
        await new PostgreSqlDeviceStore(Instance()).ActivateAsync("84099724068", "1", "ios");

        await Instance().InitializeAsync();

        Assert.Equal(PostgreSqlDatabase.SchemaVersion, Assert.Single(await QueryAsync<long>("SELECT count(*) FROM schema_migrations")));
        Assert.Equal(["1"], await new PostgreSqlDeviceStore(Instance()).ListActiveAsync("84099724068"));
    }

    [Fact]
    public async Task InitializeAsync_SchemaNewerThanTheServer_FailsSayingToUpgrade()
    {
        await Instance().InitializeAsync();
        await QueryAsync<long>("INSERT INTO schema_migrations (version, description) VALUES (9999, 'from the future') RETURNING 1::bigint");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Instance().InitializeAsync().AsTask());

        Assert.Contains("version 9999", error.Message, StringComparison.Ordinal);
        Assert.Contains("Upgrade the server", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AppendHistoryAsync_RacingFromTwoInstances_ExactlyOneWins()
    {
        var a = new PostgreSqlIdentityStore(Instance());
        var b = new PostgreSqlIdentityStore(Instance());
        var id = "10000000001";
        await a.CreateAsync(User(id), ["op0"], ["1"]);

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            Task.Run(() => (i % 2 == 0 ? a : b).AppendHistoryAsync(id, new HistoryAppend(1, $"op1-{i}", [], [])).AsTask())));

        Assert.Equal(1, results.Count(static r => r));
        Assert.Equal(["op0", $"op1-{Array.IndexOf(results, true)}"], await b.GetHistoryAsync(id));
    }

    [Fact]
    public async Task PopAsync_FromTwoInstancesAtOnce_HandsEachKeyOutOnce()
    {
        var a = new PostgreSqlOneTimeKeyStore(Instance());
        var b = new PostgreSqlOneTimeKeyStore(Instance());
        var keys = Enumerable.Range(0, 50).Select(static i => new OneTimeKey($"k{i}", $"key-{i}")).ToList();
        Assert.True(await a.AddAsync("10000000002", "1", keys, 100));

        var popped = await Task.WhenAll(Enumerable.Range(0, 80).Select(i =>
            Task.Run(() => (i % 2 == 0 ? a : b).PopAsync("10000000002", "1").AsTask())));

        var handedOut = popped.OfType<OneTimeKey>().Select(static k => k.Id).ToList();
        Assert.Equal(50, handedOut.Count);
        Assert.Equal(keys.Select(static k => k.Id).Order(), handedOut.Order());
    }

    [Fact]
    public async Task AddAsync_RacingUploadsFromTwoInstances_NeverExceedTheLimit()
    {
        var a = new PostgreSqlOneTimeKeyStore(Instance());
        var b = new PostgreSqlOneTimeKeyStore(Instance());

        // Each upload alone fits under the limit of 10; any two together do not.
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            Task.Run(() => (i % 2 == 0 ? a : b).AddAsync(
                "10000000003",
                "1",
                Enumerable.Range(0, 6).Select(k => new OneTimeKey($"u{i}-{k}", "key")).ToList(),
                10).AsTask())));

        Assert.Equal(1, results.Count(static r => r));
        Assert.Equal(6, await a.CountAsync("10000000003", "1"));
    }

    [Fact]
    public async Task ListAsync_SourcesOrderedBytewise_WhateverTheDatabaseCollation()
    {
        var store = new PostgreSqlConnectionStore(Instance());
        var now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        foreach (var source in new[] { "b", "B", "a", "*", "A" })
        {
            await store.PutAsync(new StoredPermit("10000000004", new ConnectionPermit(source, now.AddDays(1)), now));
        }

        Assert.Equal(["*", "A", "B", "a", "b"], (await store.ListAsync("10000000004", now)).Select(static p => p.Permit.Source));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Logging_NpgsqlCommands_ReachTheLogOnlyWhenAskedFor(bool logCommands)
    {
        using var loggers = new RecordingLoggerFactory();
        await using var database = new PostgreSqlDatabase(_options with { LogCommands = logCommands }, loggers);

        await new PostgreSqlDeviceStore(database).ActivateAsync("84099724068", "1", null);

        Assert.Contains(loggers.Entries, static e => e.Category == typeof(PostgreSqlDatabase).FullName && e.Level == LogLevel.Information);
        Assert.Equal(logCommands, loggers.Entries.Any(static e => e.Category.StartsWith("Npgsql", StringComparison.Ordinal) && e.Level < LogLevel.Warning));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Self")]
    [InlineData("1abc")]
    [InlineData("self; DROP TABLE x")]
    public void Options_InvalidSchema_IsRefusedNamingTheSetting(string schema)
    {
        var error = Assert.Throws<ArgumentException>(() => new PostgreSqlDatabase(services.NewPostgreSql() with { Schema = schema }));

        Assert.Contains("SelfPostgreSqlOptions.Schema", error.Message, StringComparison.Ordinal);
    }

    private PostgreSqlDatabase Instance()
    {
        var database = new PostgreSqlDatabase(_options);
        _databases.Add(database);
        return database;
    }

    private async Task<List<T>> QueryAsync<T>(string sql)
    {
        var builder = new NpgsqlConnectionStringBuilder(_options.ConnectionString) { SearchPath = _options.Schema };
        await using var connection = new NpgsqlConnection(builder.ToString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetFieldValue<T>(0));
        }

        return rows;
    }

    private static IdentityRecord User(string id) => new(id, IdentityType.Individual, null, null, DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
}

/// <summary>Keeps every log entry (category, level) of every logger it makes.</summary>
internal sealed class RecordingLoggerFactory : ILoggerFactory
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Category, LogLevel Level)> _entries = new();

    public IReadOnlyCollection<(string Category, LogLevel Level)> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(RecordingLoggerFactory owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue((category, logLevel));
    }
}
