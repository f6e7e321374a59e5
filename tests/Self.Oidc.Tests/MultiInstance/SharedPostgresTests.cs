using System.Globalization;
using Self.Network.Distributed.Tests.Infrastructure;
using Self.Oidc.Clients;
using Self.Oidc.Tests.Ciba;
using Self.Oidc.Tests.Infrastructure;

namespace Self.Oidc.Tests.MultiInstance;

/// <summary>
/// Two provider instances on one real PostgreSQL (started by the test on loopback), as two <c>self oidc serve
/// --postgres … --device-id …</c> behind a load balancer: one issuer, one Self app, one set of clients, keys and
/// grants. Each instance is its own device of the app (docs/app-devices.md).
/// </summary>
[Collection(OidcCollection.Name)]
public sealed class SharedPostgresTests(OidcFixture fixture) : IAsyncLifetime
{
    private PostgresServer? _postgres;

    private string Postgres => _postgres?.ConnectionString ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => _postgres = await PostgresServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    [Fact]
    public async Task TwoInstances_CibaStartedOnA_RedeemedOnB_UsedIdRefusedOnBoth()
    {
        var port = Machine.FreePort();
        var issuer = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        // A second `self oidc serve` with its own folder: it must find the app, keys and clients A made, not make its own.
        await using var a = await StartAsync("a", $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", issuer, deviceId: "1");
        await using var b = await StartAsync("b", "http://127.0.0.1:0", issuer, deviceId: "b");
        Assert.Equal(a.AppId, b.AppId);

        // A client registered once (as `self oidc client add --postgres` does) is known to both.
        OidcClientCreated created;
        await using (var clients = await SelfOidcClients.OpenAsync(fixture.Data.Sub("pg-cli-" + Guid.NewGuid().ToString("N")), Postgres))
        {
            created = await clients.AddAsync(new OidcClientRegistration { Name = "Shared client", CibaMode = "poll" });
        }

        var atA = new CibaClient(fixture, created, a.BaseAddress);
        var atB = new CibaClient(fixture, created, b.BaseAddress);
        await using var device = await fixture.RegisterUserAsync();
        await device.ConnectAsync(a.AppId);

        var started = await atA.StartAsync(device.SelfId, bindingMessage: "TWO-INST");
        Assert.False(started.IsError, started.ErrorCode() + " " + started.Description());
        var request = await device.NextRequestAsync();
        Assert.Equal(a.AppId, request.AppId);
        Assert.Equal("TWO-INST", request.BindingMessage);

        // B knows the request A took, and that nobody has answered yet.
        var pending = await atB.RedeemAsync(started.AuthenticationRequestId);
        Assert.Equal("authorization_pending", pending.Error);

        await request.AcceptAsync();
        await fixture.WaitAnsweredAsync(started.AuthenticationRequestId!, b);
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        var tokens = await atB.RedeemAsync(started.AuthenticationRequestId);
        Assert.False(tokens.IsError, tokens.Error + " " + tokens.ErrorDescription);

        // B signed with the key A published: one key ring for the issuer.
        var idToken = await Tokens.ValidateIdTokenAsync(fixture, tokens.IdentityToken!, created.ClientId, issuer);
        Assert.Equal(device.SelfId, idToken.Subject);

        // Used on B: refused on A and on B.
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("invalid_grant", (await atA.RedeemAsync(started.AuthenticationRequestId)).Error);
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("invalid_grant", (await atB.RedeemAsync(started.AuthenticationRequestId)).Error);
    }

    [Fact]
    public async Task TwoInstances_ClientSecretWrongOnEither_Refused()
    {
        var port = Machine.FreePort();
        var issuer = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        await using var a = await StartAsync("a", $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", issuer, deviceId: "1");
        await using var b = await StartAsync("b", "http://127.0.0.1:0", issuer, deviceId: "b");
        OidcClientCreated created;
        await using (var clients = await SelfOidcClients.OpenAsync(fixture.Data.Sub("pg-cli-" + Guid.NewGuid().ToString("N")), Postgres))
        {
            created = await clients.AddAsync(new OidcClientRegistration { Name = "Shared client", CibaMode = "poll" });
        }

        await using var device = await fixture.RegisterUserAsync();
        await device.ConnectAsync(a.AppId);
        foreach (var instance in new[] { a, b })
        {
            var refused = await new CibaClient(fixture, created, instance.BaseAddress).StartAsync(device.SelfId, secret: "not-the-secret");
            Assert.Equal("invalid_client", refused.ErrorCode());
        }
    }

    private Task<SelfOidcServer> StartAsync(string name, string urls, Uri issuer, string deviceId) =>
        fixture.StartProviderAsync(
            fixture.Data.Sub($"pg-{name}-{Guid.NewGuid():N}"),
            o => o.Options = o.Options with { Urls = urls, Issuer = issuer, PostgresConnectionString = Postgres, AppDeviceId = deviceId });
}
