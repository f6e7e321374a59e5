using System.Net;
using Self.Network.Tests.Infrastructure;
using Self.Protocol.Keys;

namespace Self.Network.Tests.Rest;

[Collection(NetworkCollection.Name)]
public sealed class ConnectionEndpointsTests(NetworkFixture fixture)
{
    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task Connections_PermitListRevoke_RoundTrip()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        var aclExpires = DateTimeOffset.FromUnixTimeSeconds(TimeProvider.System.GetUtcNow().AddDays(7).ToUnixTimeSeconds());

        await user.ConnectAsync(Http, app.Id, aclExpires: aclExpires);

        var list = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/connections", user.Token());
        Assert.Equal(HttpStatusCode.OK, list.Status);
        var permit = Assert.Single(list.Json.EnumerateArray());
        Assert.Equal(app.Id, permit.GetProperty("acl_source").GetString());
        Assert.Equal(aclExpires, DateTimeOffset.Parse(permit.GetProperty("acl_exp").GetString()!, System.Globalization.CultureInfo.InvariantCulture));

        var revoke = await Http.CallAsync(HttpMethod.Delete, $"/v1/identities/{user.Id}/connections/{app.Id}", user.Token(), user.Acl(app.Id, "acl.revoke"));
        Assert.Equal(HttpStatusCode.OK, revoke.Status);
        Assert.Empty((await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/connections", user.Token())).Json.EnumerateArray());
        Assert.Equal(HttpStatusCode.Forbidden, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices", app.Token())).Status);

        var again = await Http.CallAsync(HttpMethod.Delete, $"/v1/identities/{user.Id}/connections/{app.Id}", user.Token(), user.Acl(app.Id, "acl.revoke"));
        Assert.Equal(HttpStatusCode.NotFound, again.Status);
    }

    public static TheoryData<string> BadPermits() => ["recovery-key", "stranger-key", "expired", "wrong-typ", "wrong-issuer", "bad-source", "lapsed", "not-jws"];

    [Theory]
    [MemberData(nameof(BadPermits))]
    public async Task PostConnection_BadPermit_Returns400AndStoresNothing(string problem)
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        var now = TimeProvider.System.GetUtcNow();
        var body = problem switch
        {
            "recovery-key" => user.Acl(app.Id, signer: user.RecoveryKey),
            "stranger-key" => user.Acl(app.Id, signer: SigningKey.Generate(user.DeviceKey.Kid)),
            "expired" => user.Acl(app.Id, expires: now.AddMinutes(-5)),
            "wrong-typ" => user.Acl(app.Id, typ: "acl.something"),
            "wrong-issuer" => user.Acl(app.Id, issuer: "12345678901"),
            "bad-source" => user.Acl("not an id"),
            "lapsed" => user.Acl(app.Id, aclExpires: now.AddMinutes(-1)),
            "not-jws" => "{\"acl_source\":\"*\"}",
            _ => throw new ArgumentOutOfRangeException(nameof(problem)),
        };

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/connections", user.Token(), body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_permit", response.Code);
        Assert.Empty((await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/connections", user.Token())).Json.EnumerateArray());
    }

    [Fact]
    public async Task PostConnection_ForAnotherIdentity_Returns403()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var other = await TestIdentity.RegisterUserAsync(Http);

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/connections", other.Token(), user.Acl("*"));

        Assert.Equal(HttpStatusCode.Forbidden, response.Status);
    }

    [Fact]
    public async Task GetConnections_OfAnotherIdentity_Returns403AndUnknown404()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var other = await TestIdentity.RegisterUserAsync(Http);

        Assert.Equal(HttpStatusCode.Forbidden, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/connections", other.Token())).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.CallAsync(HttpMethod.Get, "/v1/identities/10000000003/connections", other.Token())).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/connections")).Status);
    }

    [Fact]
    public async Task DeleteConnection_RevokeNamingAnotherSource_Returns400AndKeepsThePermit()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        await user.ConnectAsync(Http, app.Id);

        var response = await Http.CallAsync(HttpMethod.Delete, $"/v1/identities/{user.Id}/connections/{app.Id}", user.Token(), user.Acl("*", "acl.revoke"));

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Single((await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/connections", user.Token())).Json.EnumerateArray());
    }

    [Fact]
    public async Task DeleteConnection_PermitJwsInsteadOfRevoke_Returns400()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        await user.ConnectAsync(Http, app.Id);

        var response = await Http.CallAsync(HttpMethod.Delete, $"/v1/identities/{user.Id}/connections/{app.Id}", user.Token(), user.Acl(app.Id));

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_permit", response.Code);
    }

    [Fact]
    public async Task PostConnection_ReplayOfAPermitOlderThanTheRevoke_Returns409()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        var now = TimeProvider.System.GetUtcNow();
        var oldPermit = user.Acl(app.Id, issuedAt: now.AddSeconds(-30));
        Assert.Equal(HttpStatusCode.OK, (await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/connections", user.Token(), oldPermit)).Status);
        Assert.Equal(HttpStatusCode.OK, (await Http.CallAsync(HttpMethod.Delete, $"/v1/identities/{user.Id}/connections/{app.Id}", user.Token(), user.Acl(app.Id, "acl.revoke"))).Status);

        var replay = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/connections", user.Token(), oldPermit);

        Assert.Equal(HttpStatusCode.Conflict, replay.Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices", app.Token())).Status);
    }
}
