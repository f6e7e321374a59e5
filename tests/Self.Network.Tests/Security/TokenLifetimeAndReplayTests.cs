using System.Net;
using System.Net.WebSockets;
using Self.Network.Tests.Infrastructure;
using Self.Protocol.Auth;
using Self.Protocol.Frames;
using Self.Protocol.Jws;
using Self.Protocol.Keys;

namespace Self.Network.Tests.Security;

/// <summary>
/// Hole 1 of issue 10: tokens of any lifetime were accepted, and the same token could be used again and again.
/// Spec §4: exp − iat ≤ 65 s, iat not older than 65 s + skew, each jti accepted once while the token could be valid.
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class TokenLifetimeAndReplayTests(NetworkFixture fixture)
{
    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task Rest_TokenLivingTenYears_Returns401AndTheControlTokenWorks()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var refused = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", Token(user, now - 5, now + (10L * 365 * 86400)));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        Assert.Equal("token_lifetime_too_long", refused.Code);
        Assert.Equal(HttpStatusCode.OK, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", Token(user, now - 5, now + 60))).Status);
    }

    [Fact]
    public async Task Rest_TokenFrom2001To2100_Returns401()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);

        var refused = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", Token(user, 978_307_200, 4_102_444_800));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        Assert.Equal("token_lifetime_too_long", refused.Code);
    }

    [Theory]
    [InlineData(-62_135_596_800L, -62_135_596_740L)] // year 1: used to overflow into a 500
    [InlineData(253_402_300_739L, 253_402_300_799L)] // year 9999
    public async Task Rest_TokenAtTheEdgesOfTime_Returns401NotA500(long iat, long exp)
    {
        var user = await TestIdentity.RegisterUserAsync(Http);

        var refused = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", Token(user, iat, exp));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        Assert.NotNull(refused.Code);
    }

    [Fact]
    public async Task Rest_SameTokenTwice_SecondIs401Replayed()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var token = user.Token();

        var first = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", token);
        var second = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/history", token);

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, second.Status);
        Assert.Equal("token_replayed", second.Code);
        Assert.Equal(HttpStatusCode.OK, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/history", user.Token())).Status);
    }

    [Fact]
    public async Task Rest_ReplayedTokenOnAWrite_ChangesNothing()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var token = user.Token();
        Assert.Equal(HttpStatusCode.OK, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", token)).Status);

        var replay = await Http.CallAsync(HttpMethod.Delete, $"/v1/identities/{user.Id}/devices/1", token);

        Assert.Equal(HttpStatusCode.Unauthorized, replay.Status);
        var devices = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices", user.Token());
        Assert.Equal(["1"], devices.Json.EnumerateArray().Select(static d => d.GetString()));
    }

    [Fact]
    public async Task Rest_SameJtiFromAnotherIssuer_IsNotAReplay()
    {
        var alice = await TestIdentity.RegisterUserAsync(Http);
        var bob = await TestIdentity.RegisterUserAsync(Http);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var jti = Guid.NewGuid().ToString();

        Assert.Equal(HttpStatusCode.OK, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{alice.Id}", Token(alice, now - 5, now + 60, jti))).Status);
        Assert.Equal(HttpStatusCode.OK, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{bob.Id}", Token(bob, now - 5, now + 60, jti))).Status);
    }

    [Fact]
    public async Task Rest_TokenWithBadSignature_DoesNotUseUpItsJti()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var jti = Guid.NewGuid().ToString();
        var forged = Token(user, now - 5, now + 60, jti, SigningKey.Generate(user.DeviceKey.Kid));

        Assert.Equal("token_bad_signature", (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", forged)).Code);
        Assert.Equal(HttpStatusCode.OK, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", Token(user, now - 5, now + 60, jti))).Status);
    }

    [Fact]
    public async Task Websocket_TokenUsedOnRest_IsRefusedAsAReplay()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var token = user.Token();
        Assert.Equal(HttpStatusCode.OK, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", token)).Status);
        await using var socket = await TestSocket.ConnectAsync(fixture.Server.MessagingUri);

        await socket.SendAsync(new AuthFrame("auth-replay", token, "1"));

        var answer = await socket.ReceiveNotificationAsync();
        Assert.Equal(MsgType.Err, answer.Type);
        Assert.Equal(ErrType.ErrAuth, answer.ErrorType);
        Assert.Contains("used before", answer.Error, StringComparison.Ordinal);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, (await socket.ReceiveCloseAsync()).Status);
    }

    [Fact]
    public async Task Websocket_TokenLivingTenYears_IsRefused()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await using var socket = await TestSocket.ConnectAsync(fixture.Server.MessagingUri);

        await socket.SendAsync(new AuthFrame("auth-long", Token(user, now - 5, now + (10L * 365 * 86400)), "1"));

        var answer = await socket.ReceiveNotificationAsync();
        Assert.Equal(ErrType.ErrAuth, answer.ErrorType);
        Assert.Contains("at most 65 s", answer.Error, StringComparison.Ordinal);
    }

    internal static string Token(TestIdentity identity, long iat, long exp, string? jti = null, SigningKey? key = null)
    {
        var claims = TestIdentity.JsonBody(writer =>
        {
            writer.WriteString("jti", jti ?? Guid.NewGuid().ToString());
            writer.WriteString("cid", Guid.NewGuid().ToString());
            writer.WriteNumber("iat", iat);
            writer.WriteNumber("exp", exp);
            writer.WriteString("iss", identity.Id);
            writer.WriteString("sub", identity.Id);
            writer.WriteString("typ", AuthToken.TokenType);
        });
        return CompactJws.Sign(System.Text.Encoding.UTF8.GetBytes(claims), key ?? identity.DeviceKey).ToCompact();
    }
}
