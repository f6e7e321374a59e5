using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Self.Network.Tests.Infrastructure;
using Self.Protocol.Auth;
using Self.Protocol.Jws;
using Self.Protocol.Keys;

namespace Self.Network.Tests.Rest;

[Collection(NetworkCollection.Name)]
public sealed class IdentityEndpointsTests(NetworkFixture fixture)
{
    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task RegisterUser_ValidRootOperation_ServesIdentityHistoryAndDevices()
    {
        var user = await TestIdentity.RegisterUserAsync(Http, deviceId: "phone-1");

        Assert.Matches("^[1-9][0-9]{10}$", user.Id);
        var identity = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", user.Token());
        Assert.Equal(HttpStatusCode.OK, identity.Status);
        Assert.Equal(user.Id, identity.Json.GetProperty("id").GetString());
        Assert.Equal("individual", identity.Json.GetProperty("type").GetString());
        var operation = Assert.Single(identity.Json.GetProperty("history").EnumerateArray());
        Assert.Equal(user.Graph.Operations[0], FlattenedJws.FromJsonElement(operation));

        var history = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/history", user.Token());
        Assert.Equal(HttpStatusCode.OK, history.Status);
        Assert.Equal(user.Graph.Operations[0], FlattenedJws.FromJsonElement(Assert.Single(history.Json.EnumerateArray())));

        var devices = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices", user.Token());
        Assert.Equal(HttpStatusCode.OK, devices.Status);
        Assert.Equal(["phone-1"], devices.Json.EnumerateArray().Select(static d => d.GetString()));
    }

    [Fact]
    public async Task RegisterUser_WantedFreeId_GetsItAndASecondClaimGets409()
    {
        var wanted = Random.Shared.NextInt64(1_000_000_000, 9_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);

        var user = await TestIdentity.RegisterUserAsync(Http, wantedId: wanted);
        Assert.Equal(wanted, user.Id);

        var (root, _, _) = TestIdentity.NewRoot();
        var second = await Http.CallAsync(HttpMethod.Post, "/v1/identities", json: RegistrationBody(root, wanted));
        Assert.Equal(HttpStatusCode.Conflict, second.Status);
        Assert.Equal("id_taken", second.Code);
    }

    [Theory]
    [InlineData("123")]
    [InlineData("123456789012")]
    [InlineData("12345abcde")]
    public async Task RegisterUser_InvalidWantedId_Returns400(string wanted)
    {
        var (root, _, _) = TestIdentity.NewRoot();

        var response = await Http.CallAsync(HttpMethod.Post, "/v1/identities", json: RegistrationBody(root, wanted));

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("bad_request", response.Code);
    }

    [Fact]
    public async Task RegisterUser_TamperedRootSignature_Returns400WithTheReason()
    {
        var (root, _, _) = TestIdentity.NewRoot();
        var forged = new FlattenedJws(root.Payload, root.Protected, Base64Url(SigningKey.Generate().Sign("x"u8)));

        var response = await Http.CallAsync(HttpMethod.Post, "/v1/identities", json: RegistrationBody(forged, null));

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("history_invalid_signature", response.Code);
        Assert.Contains("signature", response.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("{\"history\":[]}")]
    [InlineData("{\"history\":[{\"payload\":1}]}")]
    [InlineData("{\"history\":\"x\"}")]
    public async Task RegisterUser_MalformedBody_Returns400(string body)
    {
        var response = await Http.CallAsync(HttpMethod.Post, "/v1/identities", json: body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.False(string.IsNullOrEmpty(response.Message));
        Assert.False(string.IsNullOrEmpty(response.Code));
    }

    [Fact]
    public async Task GetIdentity_NoToken_Returns401()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);

        var response = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}");

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Equal("unauthorized", response.Code);
    }

    [Fact]
    public async Task GetIdentity_TokenWithBadSignature_Returns401()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var impostor = SigningKey.Generate(user.DeviceKey.Kid);
        var token = AuthToken.Create(impostor, user.Id, TimeProvider.System);

        var response = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Equal("token_bad_signature", response.Code);
    }

    [Fact]
    public async Task GetIdentity_ExpiredToken_Returns401()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var past = new FakeTimeProvider(TimeProvider.System.GetUtcNow().AddMinutes(-5));

        var response = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", user.Token(past));

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Equal("token_expired", response.Code);
    }

    [Fact]
    public async Task GetIdentity_TokenFromTheFuture_Returns401()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var future = new FakeTimeProvider(TimeProvider.System.GetUtcNow().AddMinutes(5));

        var response = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", user.Token(future));

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Equal("token_not_yet_valid", response.Code);
    }

    [Fact]
    public async Task GetIdentity_TokenOfUnregisteredIssuer_Returns401()
    {
        var stranger = SigningKey.Generate();
        var token = AuthToken.Create(stranger, "98765432109", TimeProvider.System);

        var response = await Http.CallAsync(HttpMethod.Get, "/v1/identities/98765432109", token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
    }

    [Fact]
    public async Task GetIdentity_TokenNamingUnknownKid_Returns401()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var token = AuthToken.Create(SigningKey.Generate("no-such-kid"), user.Id, TimeProvider.System);

        var response = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Contains("no-such-kid", response.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetIdentity_GarbageToken_Returns401()
    {
        var response = await Http.CallAsync(HttpMethod.Get, "/v1/identities/12345678901", "not.a.token");

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Equal("token_malformed", response.Code);
    }

    [Fact]
    public async Task GetIdentity_UnknownId_Returns404()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);

        var response = await Http.CallAsync(HttpMethod.Get, "/v1/identities/10000000001", user.Token());

        Assert.Equal(HttpStatusCode.NotFound, response.Status);
        Assert.Equal("not_found", response.Code);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF")]
    public async Task GetIdentity_MalformedId_Returns400(string id)
    {
        var user = await TestIdentity.RegisterUserAsync(Http);

        var response = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{id}", user.Token());

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
    }

    [Fact]
    public async Task GetApp_BothPaths_ServeNamePaidActionsAndHistory()
    {
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken, "Shop");
        var user = await TestIdentity.RegisterUserAsync(Http);

        foreach (var path in new[] { $"/v1/apps/{app.Id}", $"/v1/identities/{app.Id}" })
        {
            var response = await Http.CallAsync(HttpMethod.Get, path, user.Token());
            Assert.Equal(HttpStatusCode.OK, response.Status);
            Assert.Equal(app.Id, response.Json.GetProperty("id").GetString());
            Assert.Equal("app", response.Json.GetProperty("type").GetString());
            Assert.Equal("Shop", response.Json.GetProperty("name").GetString());
            Assert.True(response.Json.GetProperty("paid_actions").GetBoolean());
            Assert.Single(response.Json.GetProperty("history").EnumerateArray());
        }

        var userViaApps = await Http.CallAsync(HttpMethod.Get, $"/v1/apps/{user.Id}/devices", user.Token());
        Assert.Equal(HttpStatusCode.OK, userViaApps.Status);
    }

    [Fact]
    public async Task CreateApp_AdminToken_AppCanAuthenticateWithItsKey()
    {
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);

        Assert.Matches("^[0-9a-f]{32}$", app.Id);
        var devices = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{app.Id}/devices", app.Token());
        Assert.Equal(HttpStatusCode.OK, devices.Status);
        Assert.Equal(["1"], devices.Json.EnumerateArray().Select(static d => d.GetString()));
    }

    [Fact]
    public async Task CreateApp_NoOrWrongAdminToken_Returns401AndUserToken403()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var (root, _, _) = TestIdentity.NewRoot();
        var body = AppBody("Nope", root);

        var none = await Http.CallAsync(HttpMethod.Post, "/v1/apps", json: body);
        var wrong = await Http.CallAsync(HttpMethod.Post, "/v1/apps", "wrong-admin-token-0123456789", body);
        var userToken = await Http.CallAsync(HttpMethod.Post, "/v1/apps", user.Token(), body);

        Assert.Equal(HttpStatusCode.Unauthorized, none.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
        Assert.Equal(HttpStatusCode.Forbidden, userToken.Status);
        Assert.Equal("forbidden", userToken.Code);
    }

    [Fact]
    public async Task CreateApp_NoName_Returns400()
    {
        var (root, _, _) = TestIdentity.NewRoot();

        var response = await Http.CallAsync(HttpMethod.Post, "/v1/apps", fixture.Server.AdminToken, AppBody("", root));

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("name", response.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Healthz_Anyone_Returns200Json()
    {
        var response = await Http.CallAsync(HttpMethod.Get, "/healthz");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("ok", response.Json.GetProperty("status").GetString());
    }

    // /metrics is served by Self.Network.Telemetry now: Operations/TelemetryTests checks the same series there.

    [Fact]
    public async Task UnknownRoute_Returns404Json()
    {
        var response = await Http.CallAsync(HttpMethod.Get, "/v1/nothing/here");

        Assert.Equal(HttpStatusCode.NotFound, response.Status);
        Assert.Equal("not_found", response.Code);
    }

    [Fact]
    public async Task RegisterUser_BodyOverTheLimit_Returns413()
    {
        var body = "{\"history\":[],\"pad\":\"" + new string('x', 1024 * 1024 + 10) + "\"}";

        var response = await Http.CallAsync(HttpMethod.Post, "/v1/identities", json: body);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.Status);
        Assert.Equal("too_large", response.Code);
    }

    internal static string RegistrationBody(FlattenedJws root, string? wantedId) => TestIdentity.JsonBody(writer =>
    {
        writer.WritePropertyName("history");
        writer.WriteStartArray();
        root.WriteTo(writer);
        writer.WriteEndArray();
        if (wantedId is not null)
        {
            writer.WriteString("id", wantedId);
        }
    });

    private static string AppBody(string name, FlattenedJws root) => TestIdentity.JsonBody(writer =>
    {
        writer.WriteString("name", name);
        writer.WritePropertyName("history");
        writer.WriteStartArray();
        root.WriteTo(writer);
        writer.WriteEndArray();
    });

    private static string Base64Url(byte[] bytes) => Self.Protocol.Encoding.Base64Codec.EncodeUrl(bytes);
}
