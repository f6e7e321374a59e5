namespace Self.Network.Distributed.Tests.Infrastructure;

/// <summary>Without the servers the tests fail, saying what to install; they are never skipped.</summary>
public sealed class ServicesFixtureTests
{
    [Fact]
    public async Task PostgresServer_BinariesMissing_FailsNamingTheDebianPackage()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresServer.StartAsync(bin: "/nonexistent/postgresql/bin"));

        Assert.Contains("'postgresql'", error.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install -y postgresql", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NatsServer_BinaryMissing_FailsNamingTheDebianPackage()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => NatsServer.StartAsync(executable: "/nonexistent/nats-server", maxPayload: "2MB"));

        Assert.Contains("'nats-server'", error.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install -y nats-server", error.Message, StringComparison.Ordinal);
    }
}
