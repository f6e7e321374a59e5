using Npgsql;
using Self.Network.Distributed.Tests.Infrastructure;
using Self.Network.Nats;
using Self.Network.PostgreSql;

namespace Self.Network.Distributed.Tests.Storage;

/// <summary>What the backends' options and stores show an operator: where things are, never a credential.</summary>
[Collection(ServicesCollection.Name)]
public sealed class BackendOptionsTests(ServicesFixture services)
{
    [Fact]
    public void SelfNatsOptions_UrlsWithCredentials_AreShownWithoutThem()
    {
        var options = new SelfNatsOptions { Url = "nats://alice:s3cret@n1:4222, tls://t0ken@n2:4222,nats://n3:4222/path@x" };

        Assert.Equal("nats://n1:4222,tls://n2:4222,nats://n3:4222/path@x", options.DisplayUrl);
        Assert.DoesNotContain("s3cret", options.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("t0ken", options.ToString(), StringComparison.Ordinal);
        Assert.Contains("nats://n1:4222", options.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NatsInboxStore_Description_NamesTheServerAndTheStream()
    {
        var options = services.NewNats();
        await using var connection = new SelfNatsConnection(options);

        var store = new NatsInboxStore(connection);

        Assert.Equal($"NATS JetStream {options.Url}, stream {options.StreamName}", store.Description);
    }

    [Fact]
    public async Task PostgreSql_DescriptionAndOptions_LeaveOutThePassword()
    {
        var options = services.NewPostgreSql() with
        {
            ConnectionString = new NpgsqlConnectionStringBuilder(services.Postgres.ConnectionString) { Password = "p4ssword-not-shown" }.ToString(),
        };
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        await using var database = new PostgreSqlDatabase(options);

        var description = new PostgreSqlIdentityStore(database).Description;

        Assert.Equal($"PostgreSQL {builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}, schema {options.Schema}", description);
        Assert.DoesNotContain("p4ssword-not-shown", description, StringComparison.Ordinal);
        Assert.DoesNotContain("p4ssword-not-shown", options.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("this is not a connection string")]
    [InlineData("Hots=db;Password=p4ssword-not-shown")]
    public void SelfPostgreSqlOptions_NotAConnectionString_IsRefusedWithoutRepeatingIt(string connectionString)
    {
        var error = Assert.Throws<ArgumentException>(() => new SelfPostgreSqlOptions { ConnectionString = connectionString }.Validate());

        Assert.Contains("ConnectionString", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("p4ssword-not-shown", error.Message, StringComparison.Ordinal);
    }
}
