using System.Net;
using Self.Crypto.Olm;
using Self.Messaging.Tests.Infrastructure;
using Self.Protocol;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;
using Self.Protocol.Messages;

namespace Self.Messaging.Tests;

public sealed class SelfRestClientTests(TestNetwork network) : IClassFixture<TestNetwork>
{
    [Fact]
    public async Task RegisterIdentityAsync_RootOperation_ServesHistoryAndDevice()
    {
        var user = await network.RegisterUserAsync();

        Assert.Matches("^[0-9]{10,11}$", user.Id);
        var rest = network.RestFor(user);
        var identity = await rest.GetIdentityAsync(user.Id);
        var graph = SignatureGraph.Load(identity.History);
        Assert.Equal(user.DeviceKey.PublicKey, graph.CurrentDeviceKey("1")!.PublicKey);
        Assert.Equal(["1"], await rest.GetDevicesAsync(user.Id));
        Assert.Single(await rest.GetHistoryAsync(user.Id));
    }

    [Fact]
    public async Task RegisterIdentityAsync_WantedIdTaken_ThrowsConflict()
    {
        var wanted = "1" + Random.Shared.NextInt64(100_000_000, 999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var first = HistoryOperations.CreateIdentity(SigningKey.Generate(), "1", SigningKey.Generate(), TimeProvider.System.GetUtcNow().AddSeconds(-1));
        Assert.Equal(wanted, await network.Anonymous().RegisterIdentityAsync(first, wanted));

        var second = HistoryOperations.CreateIdentity(SigningKey.Generate(), "1", SigningKey.Generate(), TimeProvider.System.GetUtcNow().AddSeconds(-1));
        var error = await Assert.ThrowsAsync<SelfApiException>(() => network.Anonymous().RegisterIdentityAsync(second, wanted));

        Assert.Equal(HttpStatusCode.Conflict, error.StatusCode);
        Assert.Contains("POST /v1/identities", error.Message);
    }

    [Fact]
    public async Task CreateAppAsync_AdminToken_AppIsServed()
    {
        var app = await network.CreateAppAsync("Rest Test App");

        Assert.Matches("^[0-9a-f]{32}$", app.Id);
        var info = await network.RestFor(app).GetAppAsync(app.Id);
        Assert.Equal("Rest Test App", info.Name);
        Assert.True(info.PaidActions);
        Assert.Equal(app.DeviceKey.PublicKey, SignatureGraph.Load(info.History).FindKey("1")!.PublicKey);
    }

    [Fact]
    public async Task CreateAppAsync_WrongAdminToken_ThrowsUnauthorizedOrForbidden()
    {
        var root = HistoryOperations.CreateIdentity(SigningKey.Generate("1"), "1", SigningKey.Generate(), TimeProvider.System.GetUtcNow().AddSeconds(-1));

        var error = await Assert.ThrowsAsync<SelfApiException>(
            () => network.Anonymous().CreateAppAsync("not-the-admin-token-at-all", "App", root));

        Assert.Contains(error.StatusCode, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden });
        Assert.False(string.IsNullOrEmpty(error.ErrorCode));
    }

    [Fact]
    public async Task GetDevicesAsync_UserNotConnected_ThrowsForbiddenUntilPermitted()
    {
        var user = await network.RegisterUserAsync();
        var app = await network.CreateAppAsync();
        var appRest = network.RestFor(app);

        var refused = await Assert.ThrowsAsync<SelfApiException>(() => appRest.GetDevicesAsync(user.Id));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains($"/v1/identities/{user.Id}/devices", refused.Message);

        await network.PermitAsync(user, app.Id);

        Assert.Equal(["1"], await appRest.GetDevicesAsync(user.Id));
        var permits = await network.RestFor(user).GetConnectionsAsync();
        var permit = Assert.Single(permits);
        Assert.Equal(app.Id, permit.Source);
        Assert.True(permit.Expires > TimeProvider.System.GetUtcNow());
    }

    [Fact]
    public async Task RevokeConnectionAsync_Permitted_AppIsRefusedAgain()
    {
        var user = await network.RegisterUserAsync();
        var app = await network.CreateAppAsync();
        await network.PermitAsync(user, app.Id);
        var userRest = network.RestFor(user);

        await userRest.RevokeConnectionAsync(app.Id, TestNetwork.Permit(user, app.Id, MessageTypes.AclRevoke));

        Assert.Empty(await userRest.GetConnectionsAsync());
        var refused = await Assert.ThrowsAsync<SelfApiException>(() => network.RestFor(app).GetDevicesAsync(user.Id));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task PopPreKeyAsync_UntilNoneLeft_ReturnsEachKeyOnceThenThrowsNotFound()
    {
        var user = await network.RegisterUserAsync();
        var account = OlmAccount.FromSeed(user.DeviceKey.Seed);
        account.GenerateOneTimeKeys(3);
        var published = account.GetUnpublishedOneTimeKeys().Select(k => new OneTimeKey(k.Id, k.Key)).ToList();
        var rest = network.RestFor(user);
        await rest.PublishPreKeysAsync("1", published);

        var popped = new List<OneTimeKey>();
        for (var i = 0; i < published.Count; i++)
        {
            popped.Add(await rest.PopPreKeyAsync(user.Id, "1"));
        }

        Assert.Equal(published.Select(k => k.Key).Order(), popped.Select(k => k.Key).Order());
        var exhausted = await Assert.ThrowsAsync<SelfApiException>(() => rest.PopPreKeyAsync(user.Id, "1"));
        Assert.Equal(HttpStatusCode.NotFound, exhausted.StatusCode);
        Assert.Contains($"/v1/identities/{user.Id}/devices/1/pre_keys", exhausted.Message);
    }

    [Fact]
    public async Task AppendHistoryAsync_AddDevice_NewDeviceIsActiveAfterRegistration()
    {
        var user = await network.RegisterUserAsync();
        var rest = network.RestFor(user);
        var graph = SignatureGraph.Load(await rest.GetHistoryAsync(user.Id));
        var secondKey = SigningKey.Generate();

        await rest.AppendHistoryAsync(HistoryOperations.AddDevice(graph, user.DeviceKey, secondKey, "2", TimeProvider.System.GetUtcNow()));
        await rest.RegisterDeviceAsync("2", "test");

        Assert.Equal(["1", "2"], (await rest.GetDevicesAsync(user.Id)).Order());
        await rest.DeleteDeviceAsync("2");
        Assert.Equal(["1"], await rest.GetDevicesAsync(user.Id));
    }

    [Fact]
    public async Task GetIdentityAsync_UnknownId_ThrowsNotFound()
    {
        var user = await network.RegisterUserAsync();

        var error = await Assert.ThrowsAsync<SelfApiException>(() => network.RestFor(user).GetIdentityAsync("99999999999"));

        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task Calls_SignedByUnknownKey_ThrowUnauthorized()
    {
        var user = await network.RegisterUserAsync();
        var impostor = user with { DeviceKey = SigningKey.FromSeed(user.DeviceKey.Kid, SigningKey.Generate().Seed) };

        var error = await Assert.ThrowsAsync<SelfApiException>(() => network.RestFor(impostor).GetDevicesAsync(user.Id));

        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
    }
}
