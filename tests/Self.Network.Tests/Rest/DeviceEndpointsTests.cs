using System.Net;
using System.Text.Json;
using Self.Network.Tests.Infrastructure;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;

namespace Self.Network.Tests.Rest;

[Collection(NetworkCollection.Name)]
public sealed class DeviceEndpointsTests(NetworkFixture fixture)
{
    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task ListDevices_OfAnApp_AnyTokenMayRead()
    {
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        var user = await TestIdentity.RegisterUserAsync(Http);

        var response = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{app.Id}/devices", user.Token());

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(["1"], response.Json.EnumerateArray().Select(static d => d.GetString()));
    }

    [Fact]
    public async Task ListDevices_OfAUserWhoHasNotConnected_Returns403NamingWhoMustConnect()
    {
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        var user = await TestIdentity.RegisterUserAsync(Http);

        var response = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices", app.Token());

        Assert.Equal(HttpStatusCode.Forbidden, response.Status);
        Assert.Equal("not_connected", response.Code);
        Assert.StartsWith($"recipient {user.Id} has not connected to {app.Id}", response.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListDevices_AfterTheUserConnects_AppMayRead()
    {
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        var user = await TestIdentity.RegisterUserAsync(Http);

        await user.ConnectAsync(Http, app.Id);

        var response = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices", app.Token());
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(["1"], response.Json.EnumerateArray().Select(static d => d.GetString()));
    }

    [Fact]
    public async Task ListDevices_WildcardPermit_AnyoneMayRead()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var other = await TestIdentity.RegisterUserAsync(Http);

        await user.ConnectAsync(Http, "*");

        Assert.Equal(HttpStatusCode.OK, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices", other.Token())).Status);
    }

    [Fact]
    public async Task PostDevice_KeyAlreadyInHistory_RegistersItWithItsPlatform()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        await user.AddDeviceAsync(Http, "tablet");
        Assert.Equal(HttpStatusCode.OK, (await Http.CallAsync(HttpMethod.Delete, $"/v1/identities/{user.Id}/devices/tablet", user.Token())).Status);

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices", user.Token(), "{\"id\":\"tablet\",\"platform\":\"android\"}");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(JsonValueKind.Object, response.Json.ValueKind);
        var devices = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices", user.Token());
        Assert.Equal(["1", "tablet"], devices.Json.EnumerateArray().Select(static d => d.GetString()));
    }

    [Fact]
    public async Task PostDevice_NoKeyInHistory_Returns400()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices", user.Token(), "{\"id\":\"laptop\",\"platform\":\"linux\"}");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("laptop", response.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"id\":\"a:b\"}")]
    [InlineData("{\"id\":7}")]
    [InlineData("[]")]
    public async Task PostDevice_MalformedBody_Returns400(string body)
    {
        var user = await TestIdentity.RegisterUserAsync(Http);

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices", user.Token(), body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
    }

    [Fact]
    public async Task PostDevice_ForAnotherIdentity_Returns403()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var other = await TestIdentity.RegisterUserAsync(Http);

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices", other.Token(), "{\"id\":\"1\"}");

        Assert.Equal(HttpStatusCode.Forbidden, response.Status);
    }

    [Fact]
    public async Task DeleteDevice_ActiveDevice_DeactivatesItAndTheSecondDeleteIs404()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        await user.AddDeviceAsync(Http, "tablet");

        var first = await Http.CallAsync(HttpMethod.Delete, $"/v1/identities/{user.Id}/devices/tablet", user.Token());
        var second = await Http.CallAsync(HttpMethod.Delete, $"/v1/identities/{user.Id}/devices/tablet", user.Token());

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.NotFound, second.Status);
        var devices = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices", user.Token());
        Assert.Equal(["1"], devices.Json.EnumerateArray().Select(static d => d.GetString()));
    }

    [Fact]
    public async Task DeleteDevice_ByAnotherIdentityOrBadId_Returns403Or400()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var other = await TestIdentity.RegisterUserAsync(Http);

        Assert.Equal(HttpStatusCode.Forbidden, (await Http.CallAsync(HttpMethod.Delete, $"/v1/identities/{user.Id}/devices/1", other.Token())).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Http.CallAsync(HttpMethod.Delete, $"/v1/identities/{user.Id}/devices/{new string('x', 65)}", user.Token())).Status);
    }

    [Fact]
    public async Task OneTimeKeys_PostedThenPopped_EachOnceUntil404()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        await user.ConnectAsync(Http, app.Id);
        var keys = Enumerable.Range(1, 5).Select(static i => TestIdentity.OneTimeKey((uint)i)).ToList();

        var post = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices/1/pre_keys", user.Token(), KeysJson(keys));
        Assert.Equal(HttpStatusCode.OK, post.Status);

        var popped = new List<(string, string)>();
        for (var i = 0; i < keys.Count; i++)
        {
            var response = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices/1/pre_keys", app.Token());
            Assert.Equal(HttpStatusCode.OK, response.Status);
            popped.Add((response.Json.GetProperty("id").GetString()!, response.Json.GetProperty("key").GetString()!));
        }

        var exhausted = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices/1/pre_keys", app.Token());
        Assert.Equal(HttpStatusCode.NotFound, exhausted.Status);
        Assert.Equal("no_one_time_keys", exhausted.Code);
        Assert.Equal(keys.Select(static k => (k.Id, k.Key)).Order(), popped.Order());
    }

    [Fact]
    public async Task PopOneTimeKey_UserNotConnected_Returns403AndKeepsTheKey()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices/1/pre_keys", user.Token(), KeysJson([TestIdentity.OneTimeKey(1)]));

        var refused = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices/1/pre_keys", app.Token());

        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Equal("not_connected", refused.Code);
        Assert.Equal(HttpStatusCode.OK, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices/1/pre_keys", user.Token())).Status);
    }

    [Fact]
    public async Task PopOneTimeKey_OfAnApp_AnyoneMayPop()
    {
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        var user = await TestIdentity.RegisterUserAsync(Http);
        var key = TestIdentity.OneTimeKey(1);
        await Http.CallAsync(HttpMethod.Post, $"/v1/apps/{app.Id}/devices/1/pre_keys", app.Token(), KeysJson([key]));

        var response = await Http.CallAsync(HttpMethod.Get, $"/v1/apps/{app.Id}/devices/1/pre_keys", user.Token());

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(key.Key, response.Json.GetProperty("key").GetString());
    }

    [Fact]
    public async Task OneTimeKeys_UnknownDevice_Returns404()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);

        Assert.Equal(HttpStatusCode.NotFound, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices/9/pre_keys", user.Token())).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices/9/pre_keys", user.Token(), KeysJson([TestIdentity.OneTimeKey(1)]))).Status);
    }

    [Fact]
    public async Task PostOneTimeKeys_MoreThan1000InOneCall_Returns413AndAddsNone()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices/1/pre_keys", user.Token(), KeysJson(Keys(1, 1001)));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices/1/pre_keys", user.Token())).Status);
    }

    [Fact]
    public async Task PostOneTimeKeys_BeyondTenThousandHeld_Returns409()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        for (var batch = 0; batch < 10; batch++)
        {
            var ok = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices/1/pre_keys", user.Token(), KeysJson(Keys((uint)(1 + (batch * 1000)), 1000)));
            Assert.Equal(HttpStatusCode.OK, ok.Status);
        }

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices/1/pre_keys", user.Token(), KeysJson([TestIdentity.OneTimeKey(100_000)]));

        Assert.Equal(HttpStatusCode.Conflict, response.Status);
        Assert.Equal("too_many_keys", response.Code);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("[1]")]
    [InlineData("[{\"id\":\"a\"}]")]
    [InlineData("[{\"id\":\"\",\"key\":\"k\"}]")]
    [InlineData("[{\"id\":1,\"key\":\"k\"}]")]
    public async Task PostOneTimeKeys_MalformedBody_Returns400(string body)
    {
        var user = await TestIdentity.RegisterUserAsync(Http);

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices/1/pre_keys", user.Token(), body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
    }

    [Fact]
    public async Task PostOneTimeKeys_ForAnotherIdentity_Returns403()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var other = await TestIdentity.RegisterUserAsync(Http);

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices/1/pre_keys", other.Token(), KeysJson([TestIdentity.OneTimeKey(1)]));

        Assert.Equal(HttpStatusCode.Forbidden, response.Status);
    }

    [Fact]
    public async Task RevokedDevice_LosesItsOneTimeKeys()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        await user.AddDeviceAsync(Http, "tablet");
        await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices/tablet/pre_keys", user.Token(), KeysJson([TestIdentity.OneTimeKey(1)]));

        await user.AppendAsync(Http, HistoryOperations.RevokeDevice(user.Graph, user.DeviceKey, "tablet", user.NextOperationTime));

        Assert.Equal(HttpStatusCode.NotFound, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices/tablet/pre_keys", user.Token())).Status);
    }

    private static List<(string Id, string Key)> Keys(uint first, int count) =>
        Enumerable.Range(0, count).Select(i => TestIdentity.OneTimeKey(first + (uint)i)).ToList();

    private static string KeysJson(IEnumerable<(string Id, string Key)> keys) =>
        JsonSerializer.Serialize(keys.Select(static k => new Dictionary<string, string> { ["id"] = k.Id, ["key"] = k.Key }));
}
