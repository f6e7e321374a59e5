using System.Net;
using System.Text.Json;
using Self.Network.Distributed.Tests.Infrastructure;

namespace Self.Network.Distributed.Tests.Operations;

/// <summary>/readyz on PostgreSQL and NATS: ready while both answer, not ready while NATS is down, ready again after.</summary>
[Collection(ServicesCollection.Name)]
public sealed class ReadinessTests(ServicesFixture services)
{
    private const string AdminToken = "operator-token-for-readiness-tests";

    [Fact]
    public async Task Readyz_NatsKilledThenRestarted_GoesUnreadyNamingInboxesThenReadyAgain()
    {
        // A NATS server of this test's own, since it is killed.
        await using var nats = await NatsServer.StartAsync();
        await using var instance = await NetworkInstance.StartAsync(services.NewPostgreSql(), services.NewNats() with { Url = nats.Url }, AdminToken);

        var ready = await ReadyzAsync(instance);
        await nats.KillAsync();
        var down = await ReadyzAsync(instance);
        var live = await instance.Http.GetAsync(new Uri("/healthz", UriKind.Relative));
        await nats.StartAgainAsync();
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(60);
        var again = await ReadyzAsync(instance);
        while (again.Status != HttpStatusCode.OK && TimeProvider.System.GetUtcNow() < deadline)
        {
            await Task.Delay(200);
            again = await ReadyzAsync(instance);
        }

        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Equal("ok", ready.Checks["registry"]);
        Assert.Equal("ok", ready.Checks["inboxes"]);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.Status);
        Assert.Equal("unhealthy", down.Checks["inboxes"]);
        Assert.Equal("ok", down.Checks["registry"]);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.Status);
    }

    private static async Task<(HttpStatusCode Status, Dictionary<string, string> Checks)> ReadyzAsync(NetworkInstance instance)
    {
        using var response = await instance.Http.GetAsync(new Uri("/readyz", UriKind.Relative));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var checks = json.RootElement.GetProperty("checks").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
        return (response.StatusCode, checks);
    }
}
