using System.Net;
using Self.Network.Tests.Infrastructure;
using Self.Network.Tests.Rest;
using Self.Protocol.Encoding;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;

namespace Self.Network.Tests.Security;

/// <summary>
/// Hole 6 of issue 10: a second Self ID from another identity's root operation, pre-keys that are not Curve25519 keys,
/// history operations dated years ahead, and JSON with repeated members were all accepted.
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class RegistryTrustTests(NetworkFixture fixture)
{
    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task RegisterUser_WithAnotherIdentitysPublicRoot_Returns409AndRegistersNothing()
    {
        var victim = await TestIdentity.RegisterUserAsync(Http);
        var wanted = NewUserId();

        // The victim's root operation is public: anyone can fetch it from GET /history.
        var stolen = victim.Graph.Operations[0];
        var response = await Http.CallAsync(HttpMethod.Post, "/v1/identities", json: IdentityEndpointsTests.RegistrationBody(stolen, wanted));

        Assert.Equal(HttpStatusCode.Conflict, response.Status);
        Assert.Equal("root_taken", response.Code);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{wanted}", victim.Token())).Status);
        var again = await Http.CallAsync(HttpMethod.Post, "/v1/identities", json: IdentityEndpointsTests.RegistrationBody(stolen, null));
        Assert.Equal("root_taken", again.Code);

        // The victim is untouched, and the wanted id is still free for a root of its own.
        Assert.Single((await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{victim.Id}/history", victim.Token())).Json.EnumerateArray());
        var (fresh, _, _) = TestIdentity.NewRoot();
        Assert.Equal(HttpStatusCode.OK, (await Http.CallAsync(HttpMethod.Post, "/v1/identities", json: IdentityEndpointsTests.RegistrationBody(fresh, wanted))).Status);
    }

    [Fact]
    public async Task CreateApp_WithAUsersRoot_Returns409()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var body = TestIdentity.JsonBody(writer =>
        {
            writer.WriteString("name", "Impostor");
            writer.WritePropertyName("history");
            writer.WriteStartArray();
            user.Graph.Operations[0].WriteTo(writer);
            writer.WriteEndArray();
        });

        var response = await Http.CallAsync(HttpMethod.Post, "/v1/apps", fixture.Server.AdminToken, body);

        Assert.Equal(HttpStatusCode.Conflict, response.Status);
        Assert.Equal("root_taken", response.Code);
    }

    [Theory]
    [InlineData("k", "uP+CBI+9QQDzbBCsJivgzJs87h5ejUNk2gq+TZHKm1c")] // id not 4 bytes
    [InlineData("AAAAAQAA", "uP+CBI+9QQDzbBCsJivgzJs87h5ejUNk2gq+TZHKm1c")] // id 6 bytes
    [InlineData("AAAAAQ", "v")] // key not base64 of 32 bytes
    [InlineData("AAAAAQ", "uP+CBI+9QQDzbBCsJivgzJs87h5ejUNk2gq+TZHKm1cA")] // 33 bytes
    [InlineData("AAAAAQ", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // the zero point
    [InlineData("AAAAAQ", "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // u = 1, small order
    [InlineData("AAAAAQ", "7P///////////////////////////////////////38")] // p − 1, small order
    [InlineData("AAAAAQ", "*not base64*")]
    public async Task PostOneTimeKeys_NotAnOlmCurve25519Key_Returns400AndStoresNone(string id, string key)
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var good = TestIdentity.OneTimeKey(7);
        var body = $"[{{\"id\":\"{good.Id}\",\"key\":\"{good.Key}\"}},{{\"id\":\"{id}\",\"key\":\"{key}\"}}]";

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices/1/pre_keys", user.Token(), body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("One-time key 1", response.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices/1/pre_keys", user.Token())).Status);
    }

    [Fact]
    public async Task PostOneTimeKeys_ControlWithTheCapturedSdkKey_IsAccepted()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var body = "[{\"id\":\"AAAAZA\",\"key\":\"uP+CBI+9QQDzbBCsJivgzJs87h5ejUNk2gq+TZHKm1c\"}]";

        Assert.Equal(HttpStatusCode.OK, (await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices/1/pre_keys", user.Token(), body)).Status);
    }

    [Fact]
    public async Task RegisterUser_RootDatedYearsAhead_Returns400()
    {
        var root = HistoryOperations.CreateIdentity(SigningKey.Generate(), "1", SigningKey.Generate(), DateTimeOffset.UtcNow.AddYears(5));

        var response = await Http.CallAsync(HttpMethod.Post, "/v1/identities", json: IdentityEndpointsTests.RegistrationBody(root, null));

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_history", response.Code);
    }

    [Fact]
    public async Task AppendHistory_OperationDatedYearsAhead_Returns400AndKeepsTheHistory()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var operation = HistoryOperations.AddDevice(user.Graph, user.DeviceKey, SigningKey.Generate(), "tablet", DateTimeOffset.UtcNow.AddYears(5));

        var response = await user.AppendAsync(Http, operation);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_history", response.Code);
        Assert.Single((await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/history", user.Token())).Json.EnumerateArray());

        // Dated now, the same change is accepted.
        var control = HistoryOperations.AddDevice(user.Graph, user.DeviceKey, SigningKey.Generate(), "tablet", DateTimeOffset.UtcNow);
        Assert.Equal(HttpStatusCode.OK, (await user.AppendAsync(Http, control)).Status);
    }

    [Fact]
    public async Task RegisterUser_BodyWithARepeatedMember_Returns400()
    {
        var (root, _, _) = TestIdentity.NewRoot();
        var (other, _, _) = TestIdentity.NewRoot();
        var body = "{\"history\":[" + root.ToJson() + "],\"history\":[" + other.ToJson() + "]}";

        var response = await Http.CallAsync(HttpMethod.Post, "/v1/identities", json: body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("bad_request", response.Code);
    }

    [Fact]
    public async Task Permit_ClaimsWithARepeatedMember_Returns400AndStoresNothing()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        var now = DateTimeOffset.UtcNow;
        var claims = TestIdentity.JsonBody(writer =>
        {
            writer.WriteString("typ", "acl.permit");
            writer.WriteString("iss", user.Id);
            writer.WriteString("sub", user.Id);
            writer.WriteString("iat", TestIdentity.Rfc3339(now));
            writer.WriteString("exp", TestIdentity.Rfc3339(now.AddMinutes(5)));
            writer.WriteString("jti", Guid.NewGuid().ToString());
            writer.WriteString("acl_source", "*");
            writer.WriteString("acl_source", app.Id);
            writer.WriteString("acl_exp", TestIdentity.Rfc3339(now.AddDays(30)));
        });
        var permit = FlattenedJws.Sign(System.Text.Encoding.UTF8.GetBytes(claims), user.DeviceKey).ToJson();

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/connections", user.Token(), permit);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_permit", response.Code);
        Assert.Empty((await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/connections", user.Token())).Json.EnumerateArray());
    }

    [Fact]
    public async Task Token_ClaimsWithARepeatedIssuer_Returns401Malformed()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var other = await TestIdentity.RegisterUserAsync(Http);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = $"{{\"jti\":\"{Guid.NewGuid()}\",\"iat\":{now - 5},\"exp\":{now + 60},\"iss\":\"{other.Id}\",\"sub\":\"{user.Id}\",\"iss\":\"{user.Id}\",\"typ\":\"auth.token\"}}";
        var token = CompactJws.Sign(System.Text.Encoding.UTF8.GetBytes(claims), user.DeviceKey).ToCompact();

        var response = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Equal("token_malformed", response.Code);
    }

    [Fact]
    public async Task AppendHistory_OperationPayloadWithARepeatedMember_Returns400()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var good = HistoryOperations.AddDevice(user.Graph, user.DeviceKey, SigningKey.Generate(), "tablet", user.NextOperationTime);
        var payload = System.Text.Encoding.UTF8.GetString(good.PayloadBytes.Span);
        var doubled = "{\"sequence\":99," + payload[1..];
        var forged = FlattenedJws.Sign(System.Text.Encoding.UTF8.GetBytes(doubled), user.DeviceKey, typ: null);

        var response = await user.AppendAsync(Http, forged);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Single((await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/history", user.Token())).Json.EnumerateArray());
    }

    private static string NewUserId() =>
        Random.Shared.NextInt64(1_000_000_000, 9_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
