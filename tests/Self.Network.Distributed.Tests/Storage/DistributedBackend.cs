using Self.Network.Distributed.Tests.Infrastructure;
using Self.Network.Nats;
using Self.Network.PostgreSql;
using Self.Network.Tests.Storage;

namespace Self.Network.Distributed.Tests.Storage;

/// <summary>
/// The scale-out backend as the storage contracts see it: the registry on a fresh PostgreSQL schema, the inboxes on a
/// fresh JetStream stream. Disposing it drops both.
/// </summary>
internal static class DistributedBackend
{
    public static async Task<StorageBackend> CreateAsync(ServicesFixture services)
    {
        var postgres = services.NewPostgreSql();
        var database = new PostgreSqlDatabase(postgres);
        var nats = new SelfNatsConnection(services.NewNats());
        var inboxes = new NatsInboxStore(nats);
        await database.InitializeAsync();
        await inboxes.InitializeAsync();
        return new StorageBackend(
            new PostgreSqlIdentityStore(database),
            new PostgreSqlDeviceStore(database),
            new PostgreSqlOneTimeKeyStore(database),
            new PostgreSqlConnectionStore(database),
            inboxes,
            async () =>
            {
                await nats.JetStream.DeleteStreamAsync(nats.Options.StreamName);
                await nats.DisposeAsync();
                await database.DisposeAsync();
                await services.DropSchemaAsync(postgres.Schema);
            });
    }
}

[Collection(ServicesCollection.Name)]
public sealed class PostgreSqlIdentityStoreTests(ServicesFixture services) : IdentityStoreContract
{
    protected override Task<StorageBackend> CreateBackendAsync() => DistributedBackend.CreateAsync(services);
}

[Collection(ServicesCollection.Name)]
public sealed class PostgreSqlDeviceStoreTests(ServicesFixture services) : DeviceStoreContract
{
    protected override Task<StorageBackend> CreateBackendAsync() => DistributedBackend.CreateAsync(services);
}

[Collection(ServicesCollection.Name)]
public sealed class PostgreSqlOneTimeKeyStoreTests(ServicesFixture services) : OneTimeKeyStoreContract
{
    protected override Task<StorageBackend> CreateBackendAsync() => DistributedBackend.CreateAsync(services);
}

[Collection(ServicesCollection.Name)]
public sealed class PostgreSqlConnectionStoreTests(ServicesFixture services) : ConnectionStoreContract
{
    protected override Task<StorageBackend> CreateBackendAsync() => DistributedBackend.CreateAsync(services);
}

[Collection(ServicesCollection.Name)]
public sealed class NatsInboxStoreContractTests(ServicesFixture services) : InboxStoreContract
{
    protected override Task<StorageBackend> CreateBackendAsync() => DistributedBackend.CreateAsync(services);
}
