using System.Net.WebSockets;
using Microsoft.Extensions.Time.Testing;
using Self.Network.Tests.Infrastructure;
using Self.Protocol.Auth;
using Self.Protocol.Frames;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;

namespace Self.Network.Tests.Relay;

[Collection(NetworkCollection.Name)]
public sealed class HandshakeTests(NetworkFixture fixture)
{
    private Uri Messaging => fixture.Server.MessagingUri;

    [Fact]
    public async Task Auth_GoodToken_FirstServerFrameIsAckWithTheAuthId()
    {
        var user = await TestIdentity.RegisterUserAsync(fixture.Http);
        await using var socket = await TestSocket.ConnectAsync(Messaging);

        await socket.SendAsync(new AuthFrame("auth-1", user.Token(), "1"));

        var answer = await socket.ReceiveNotificationAsync();
        Assert.Equal(NotificationFrame.Ack("auth-1"), answer);
    }

    [Fact]
    public async Task Auth_AppWithGenOneSecretKid_IsAccepted()
    {
        var app = await TestIdentity.CreateAppAsync(fixture.Http, fixture.Server.AdminToken);

        await using var socket = await TestSocket.LoginAsync(Messaging, app);

        Assert.Equal(WebSocketState.Open, socket.State);
    }

    [Fact]
    public async Task Auth_TokenWithBadSignature_ErrAuthThenClose()
    {
        var user = await TestIdentity.RegisterUserAsync(fixture.Http);
        var token = AuthToken.Create(SigningKey.Generate(user.DeviceKey.Kid), user.Id, TimeProvider.System);

        await AssertRefusedAsync(new AuthFrame("auth-2", token, "1"), "signature");
    }

    [Fact]
    public async Task Auth_ExpiredToken_ErrAuthThenClose()
    {
        var user = await TestIdentity.RegisterUserAsync(fixture.Http);
        var past = new FakeTimeProvider(TimeProvider.System.GetUtcNow().AddMinutes(-5));

        await AssertRefusedAsync(new AuthFrame("auth-3", user.Token(past), "1"), "expired");
    }

    [Fact]
    public async Task Auth_RevokedKey_ErrAuthThenClose()
    {
        var user = await TestIdentity.RegisterUserAsync(fixture.Http);
        var tablet = await user.AddDeviceAsync(fixture.Http, "tablet");
        await user.AppendAsync(fixture.Http, HistoryOperations.RevokeDevice(user.Graph, user.DeviceKey, "tablet", user.NextOperationTime));

        await AssertRefusedAsync(new AuthFrame("auth-4", AuthToken.Create(tablet, user.Id, TimeProvider.System), "tablet"), "revoked");
    }

    [Fact]
    public async Task Auth_RotatedAwayKey_ErrAuthButTheNewKeyLogsIn()
    {
        var user = await TestIdentity.RegisterUserAsync(fixture.Http);
        var oldToken = user.Token();
        await user.RotateAsync(fixture.Http, "1");

        await AssertRefusedAsync(new AuthFrame("auth-5", oldToken, "1"), "revoked");
        await using var socket = await TestSocket.LoginAsync(Messaging, user);
    }

    [Fact]
    public async Task Auth_KeyOfAnotherDeviceOfTheSameIdentity_ErrAuth()
    {
        var user = await TestIdentity.RegisterUserAsync(fixture.Http);
        await user.AddDeviceAsync(fixture.Http, "tablet");

        await AssertRefusedAsync(new AuthFrame("auth-6", user.Token(deviceId: "tablet"), "1"), "not by the current key of device '1'");
    }

    [Fact]
    public async Task Auth_DeviceWithoutKey_ErrAuth()
    {
        var user = await TestIdentity.RegisterUserAsync(fixture.Http);

        await AssertRefusedAsync(new AuthFrame("auth-7", user.Token(), "laptop"), "laptop");
    }

    [Fact]
    public async Task Auth_FirstFrameIsNotAuth_ErrAuthThenClose()
    {
        var user = await TestIdentity.RegisterUserAsync(fixture.Http);

        await AssertRefusedAsync(RelayTestData.Message(user, user), "first frame must be Auth", expectedId: string.Empty);
    }

    [Fact]
    public async Task Auth_GarbageFirstFrame_ErrAuthThenClose()
    {
        await using var socket = await TestSocket.ConnectAsync(Messaging);

        await socket.SendBytesAsync([1, 2, 3, 4, 5]);

        var answer = await socket.ReceiveNotificationAsync();
        Assert.Equal(MsgType.Err, answer.Type);
        Assert.Equal(ErrType.ErrAuth, answer.ErrorType);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, (await socket.ReceiveCloseAsync()).Status);
    }

    [Fact]
    public async Task MessagingPath_PlainHttp_Returns400Json()
    {
        var response = await fixture.Http.CallAsync(HttpMethod.Get, "/v2/messaging");

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("bad_request", response.Code);
    }

    private async Task AssertRefusedAsync(Frame first, string reasonPart, string? expectedId = null)
    {
        await using var socket = await TestSocket.ConnectAsync(Messaging);
        await socket.SendAsync(first);

        var answer = await socket.ReceiveNotificationAsync();

        Assert.Equal(MsgType.Err, answer.Type);
        Assert.Equal(ErrType.ErrAuth, answer.ErrorType);
        Assert.Equal(expectedId ?? first.Id, answer.Id);
        Assert.Contains(reasonPart, answer.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, (await socket.ReceiveCloseAsync()).Status);
    }
}
