using System.Net;
using Self.Device;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Messaging;
using Self.Protocol;
using Self.Protocol.Keys;
using Self.Protocol.Links;
using Self.Protocol.Messages;
using Self.Sdk;

namespace Self.EndToEnd.Tests.Device;

/// <summary>Connections (spec §7): permits stored, listed and withdrawn by the device; invitations accepted and declined.</summary>
[Collection(NetworkCollection.Name)]
public sealed class ConnectionTests(NetworkFixture network) : IDisposable
{
    private readonly TempDirectory _storage = new("device-connections");

    public void Dispose() => _storage.Dispose();

    [Fact]
    public async Task ConnectListDisconnect_NetworkOpensAndClosesTheUserToTheApp()
    {
        var app = await TestIdentities.CreateAppAsync(network);
        var asApp = DeviceKit.RestAs(network, app);
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "connecting");
        Assert.Equal(HttpStatusCode.Forbidden, (await Assert.ThrowsAsync<SelfApiException>(() => asApp.GetDevicesAsync(device.SelfId))).StatusCode);
        Assert.Empty(await device.GetConnectionsAsync());

        await device.ConnectAsync(app.AppId, TimeSpan.FromDays(30));

        var permit = Assert.Single(await device.GetConnectionsAsync());
        Assert.Equal(app.AppId, permit.Source);
        Assert.InRange(permit.Expires, DateTimeOffset.UtcNow.AddDays(29), DateTimeOffset.UtcNow.AddDays(31));
        Assert.Equal(["1"], await asApp.GetDevicesAsync(device.SelfId));

        await device.DisconnectAsync(app.AppId);

        Assert.Empty(await device.GetConnectionsAsync());
        var refused = await Assert.ThrowsAsync<SelfApiException>(() => asApp.GetDevicesAsync(device.SelfId));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        await Assert.ThrowsAsync<SelfApiException>(() => asApp.PopPreKeyAsync(device.SelfId, "1"));
    }

    [Fact]
    public async Task DisconnectAsync_AppNeverConnected_Throws404()
    {
        var app = await TestIdentities.CreateAppAsync(network);
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "never-connected");

        var error = await Assert.ThrowsAsync<SelfApiException>(() => device.DisconnectAsync(app.AppId));

        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task ConnectAsync_UnknownOrMalformedApp_ThrowsAndStoresNothing()
    {
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "unknown-app");

        var unknown = await Assert.ThrowsAsync<UnknownAppException>(() => device.ConnectAsync("0123456789abcdef0123456789abcdef"));
        await Assert.ThrowsAsync<ArgumentException>(() => device.ConnectAsync("not-an-app"));

        Assert.Equal("unknown_app", unknown.ErrorCode);
        Assert.Empty(await device.GetConnectionsAsync());
    }

    [Fact]
    public async Task AcceptInvitationAsync_QrCode_AppLearnsTheUserAndThePermitIsStored()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage, name: "Inviting Shop");
        await using var _ = client;
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "invited");
        var invitation = client.Connections.CreateInvitation("Get sign-in requests from the shop");

        var preview = await device.ReadInvitationAsync(invitation.QrCode.Payload);
        Assert.Empty(await device.GetConnectionsAsync());
        var accepted = await device.AcceptInvitationAsync(invitation.QrCode.Payload);

        Assert.Equal(preview, accepted);
        Assert.Equal(app.AppId, accepted.AppId);
        Assert.Equal("Inviting Shop", accepted.AppName);
        Assert.Equal("Get sign-in requests from the shop", accepted.Description);
        Assert.Equal(invitation.ConversationId, accepted.ConversationId);
        var connected = await client.Connections.WaitForConnectionAsync(invitation.ConversationId).WaitAsync(DeviceKit.Patience);
        Assert.Equal(device.SelfId, connected.SelfId);
        Assert.Equal(device.DeviceId, connected.DeviceId);
        Assert.Equal(app.AppId, Assert.Single(await device.GetConnectionsAsync()).Source);

        // The same invitation is not answered twice by this device.
        await Assert.ThrowsAsync<InvalidRequestException>(() => device.AcceptInvitationAsync(invitation.QrCode.Payload));
    }

    [Fact]
    public async Task AcceptInvitationAsync_DeepLink_Connects()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "deep-linked");
        var invitation = client.Connections.CreateInvitation(callback: new Uri("https://shop.example/connected"));

        await device.AcceptInvitationAsync(invitation.DeepLink.AbsoluteUri);

        var connected = await client.Connections.WaitForConnectionAsync(invitation.ConversationId).WaitAsync(DeviceKit.Patience);
        Assert.Equal(device.SelfId, connected.SelfId);
        Assert.Equal(app.AppId, Assert.Single(await device.GetConnectionsAsync()).Source);
    }

    [Fact]
    public async Task DeclineInvitationAsync_AnswersRejectedAndConnectsNothing()
    {
        await using var app = await RawApp.StartAsync(network, _storage, "Declined App");
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "declining");
        var claims = Invitation(app);

        var declined = await device.DeclineInvitationAsync(app.Sign(claims));

        Assert.Equal(app.AppId, declined.AppId);
        Assert.Equal("Declined App", declined.AppName);
        var answer = await app.WaitForAnswerAsync(claims.Cid!);
        Assert.Equal(MessageTypes.ConnectionsResponse, answer.Claim("typ"));
        Assert.Equal(ResponseStatuses.Rejected, answer.Claim("status"));
        Assert.Equal(device.SelfId, answer.Claim("iss"));
        Assert.Equal(device.SelfId, answer.Claim("sub"));
        Assert.Equal(app.AppId, answer.Claim("aud"));
        Assert.Equal(device.DeviceId, answer.Claim("device_id"));
        Assert.Empty(await device.GetConnectionsAsync());
    }

    [Fact]
    public async Task AcceptInvitationAsync_NotSignedByTheApp_ThrowsAndConnectsNothing()
    {
        await using var app = await RawApp.StartAsync(network, _storage);
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "forged-invitation");
        var forged = SignedMessage.Sign(Invitation(app), SigningKey.FromSeed(app.Key.Kid, new byte[32])).ToJson();

        var error = await Assert.ThrowsAsync<InvalidRequestException>(() => device.AcceptInvitationAsync(forged));

        Assert.Contains("signature", error.Message);
        Assert.Empty(await device.GetConnectionsAsync());
    }

    [Fact]
    public async Task AcceptInvitationAsync_ExpiredOrTooLongOrGarbage_Throws()
    {
        await using var app = await RawApp.StartAsync(network, _storage);
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "bad-invitations");
        var now = DateTimeOffset.UtcNow;

        await Assert.ThrowsAsync<RequestExpiredException>(() =>
            device.AcceptInvitationAsync(app.Sign(Invitation(app) with { Iat = now.AddMinutes(-10), Exp = now.AddMinutes(-5) })));
        var tooLong = await Assert.ThrowsAsync<InvalidRequestException>(() =>
            device.AcceptInvitationAsync(app.Sign(Invitation(app) with { Exp = now.AddHours(25) })));
        Assert.Contains("24 hours", tooLong.Message);
        await Assert.ThrowsAsync<InvalidRequestException>(() => device.AcceptInvitationAsync("hello, device"));
        await Assert.ThrowsAsync<InvalidRequestException>(() =>
            device.AcceptInvitationAsync(app.Sign(app.Request(device.SelfId))));
        Assert.Empty(await device.GetConnectionsAsync());
    }

    [Fact]
    public async Task AcceptInvitationAsync_LinkBuiltByDeepLink_ReadsTheSameInvitation()
    {
        await using var app = await RawApp.StartAsync(network, _storage, "Linked App");
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "linked");
        var claims = Invitation(app);
        var link = DeepLink.Build(new Uri("https://links.example"), new Uri("https://app.example/back"), app.Sign(claims));

        var read = await device.ReadInvitationAsync(link.AbsoluteUri);

        Assert.Equal(claims.Cid, read.ConversationId);
        Assert.Equal(app.AppId, read.AppId);
    }

    private static ConnectionRequestClaims Invitation(RawApp app)
    {
        var now = DateTimeOffset.UtcNow;
        return new ConnectionRequestClaims
        {
            Typ = MessageTypes.ConnectionsRequest,
            Iss = app.AppId,
            Sub = "-",
            Aud = "-",
            Iat = now,
            Exp = now.AddMinutes(5),
            Cid = Guid.NewGuid().ToString(),
            Jti = Guid.NewGuid().ToString(),
            RequireConfirmation = true,
            DeviceId = "1",
        };
    }
}
