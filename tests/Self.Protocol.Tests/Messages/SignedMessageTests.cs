using System.Text.Json;
using Self.Protocol.Encoding;
using Self.Protocol.Jws;
using Self.Protocol.Keys;
using Self.Protocol.Messages;
using Self.Testing;

namespace Self.Protocol.Tests.Messages;

public class SignedMessageTests
{
    private const string AppId = "f37e9ec4af9a32d8e9fdad497a8b8ab1";
    private const string UserId = "84099724068";
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 9, 32, 22, 526, TimeSpan.Zero);
    private static readonly SigningKey Key = SigningKey.Generate("1");

    [Fact]
    public void ReadClaims_RequestJwsFromTypeScriptSdk_MatchesRecordedClaims()
    {
        var jws = FlattenedJws.Parse(Conformance.ReadText("ts-sdk", "request-jws.json"));
        using var recorded = JsonDocument.Parse(Conformance.ReadText("ts-sdk", "request-claims.json"));
        var expected = recorded.RootElement.GetProperty("claims");

        Assert.True(jws.Verify(Base64Codec.Decode(Keys().GetProperty("app").GetProperty("app_ed25519_public_b64url").GetString()!)));
        Assert.Equal(MessageTypes.FactsQueryRequest, SignedMessage.PeekType(jws));
        var claims = SignedMessage.ReadClaims<AuthenticationRequestClaims>(jws);

        Assert.Equal(expected.GetProperty("typ").GetString(), claims.Typ);
        Assert.Equal(expected.GetProperty("iss").GetString(), claims.Iss);
        Assert.Equal(expected.GetProperty("sub").GetString(), claims.Sub);
        Assert.Equal(expected.GetProperty("aud").GetString(), claims.Aud);
        Assert.Equal(expected.GetProperty("cid").GetString(), claims.Cid);
        Assert.Equal(expected.GetProperty("jti").GetString(), claims.Jti);
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 9, 32, 22, 526, TimeSpan.Zero), claims.Iat);
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 14, 32, 22, 526, TimeSpan.Zero), claims.Exp);
        Assert.Empty(claims.Facts);
        Assert.True(claims.Auth);
        Assert.Null(claims.DeviceId);
    }

    [Fact]
    public void ReadClaims_ResponseJwsFromCapture_VerifiesWithUserDeviceKeyAndParses()
    {
        var jws = FlattenedJws.Parse(Conformance.ReadText("ts-sdk", "response-jws.json"));
        var user = Keys().GetProperty("user");

        Assert.True(jws.Verify(Base64Codec.Decode(user.GetProperty("device_ed25519_public_b64url").GetString()!)));
        Assert.False(jws.Verify(Base64Codec.Decode(user.GetProperty("recovery_public_b64url").GetString()!)));
        Assert.Equal(user.GetProperty("device_key_kid_in_history").GetString(), jws.Header.Kid);

        var claims = SignedMessage.ReadClaims<AuthenticationResponseClaims>(jws);

        Assert.Equal(MessageTypes.FactsQueryResponse, claims.Typ);
        Assert.Equal(UserId, claims.Iss);
        Assert.Equal(UserId, claims.Sub);
        Assert.Equal(AppId, claims.Aud);
        Assert.Equal(ResponseStatuses.Accepted, claims.Status);
        Assert.True(claims.Auth);
        Assert.Empty(claims.Facts);
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 9, 32, 22, TimeSpan.Zero), claims.Iat);
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 9, 37, 22, TimeSpan.Zero), claims.Exp);
        Assert.Equal("36d87249-6d66-4877-bdde-7fe550e2e4b0", claims.Cid);
    }

    [Fact]
    public void Sign_ResponseWithDefaults_WritesFactsAndSnakeCaseInOrder()
    {
        var claims = Response();

        var jws = SignedMessage.Sign(claims, Key);
        using var doc = JsonDocument.Parse(jws.PayloadBytes);
        var root = doc.RootElement;

        Assert.Equal(
            ["typ", "iss", "sub", "aud", "iat", "exp", "cid", "jti", "status", "auth", "facts", "device_id"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Array, root.GetProperty("facts").ValueKind);
        Assert.Equal(0, root.GetProperty("facts").GetArrayLength());
        Assert.Equal("2026-11-28T09:32:22.526Z", root.GetProperty("iat").GetString());
        Assert.Equal("2026-11-28T09:37:22.526Z", root.GetProperty("exp").GetString());
        Assert.True(jws.Verify(Key.PublicKey));
    }

    [Fact]
    public void Sign_ResponseWithNullFacts_StillWritesEmptyFacts()
    {
        var jws = SignedMessage.Sign(Response() with { Facts = null! }, Key);
        using var doc = JsonDocument.Parse(jws.PayloadBytes);
        Assert.Equal(0, doc.RootElement.GetProperty("facts").GetArrayLength());
    }

    [Fact]
    public void Sign_RequestWithOurClaims_RoundTrips()
    {
        var claims = new AuthenticationRequestClaims
        {
            Typ = MessageTypes.FactsQueryRequest,
            Iss = AppId,
            Sub = UserId,
            Aud = UserId,
            Iat = Now,
            Exp = Now.AddMinutes(5),
            Cid = Guid.NewGuid().ToString(),
            Jti = Guid.NewGuid().ToString(),
            Auth = true,
            DeviceId = "1",
            BindingMessage = "Blue fox 42",
            AppName = "Demo app",
        };

        var jws = SignedMessage.Sign(claims, Key);
        var json = System.Text.Encoding.UTF8.GetString(jws.PayloadBytes.Span);
        var back = SignedMessage.ReadClaims<AuthenticationRequestClaims>(jws);

        Assert.Contains("\"binding_message\":\"Blue fox 42\"", json, StringComparison.Ordinal);
        Assert.Contains("\"app_name\":\"Demo app\"", json, StringComparison.Ordinal);
        Assert.Contains("\"device_id\":\"1\"", json, StringComparison.Ordinal);
        Assert.Contains("\"facts\":[]", json, StringComparison.Ordinal);
        Assert.DoesNotContain("description", json, StringComparison.Ordinal);
        Assert.Equal(claims with { Facts = back.Facts }, back);
    }

    [Fact]
    public void Sign_AclPermit_UsesAclNamesAndRfc3339Expiry()
    {
        var permit = new AclClaims
        {
            Typ = MessageTypes.AclPermit,
            Iss = UserId,
            Sub = UserId,
            Iat = Now,
            Exp = Now.AddMinutes(1),
            Jti = Guid.NewGuid().ToString(),
            AclSource = AppId,
            AclExp = new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero),
        };

        var jws = SignedMessage.Sign(permit, Key);
        var json = System.Text.Encoding.UTF8.GetString(jws.PayloadBytes.Span);

        Assert.Contains("\"acl_source\":\"" + AppId + "\"", json, StringComparison.Ordinal);
        Assert.Contains("\"acl_exp\":\"2027-01-01T00:00:00.000Z\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"aud\"", json, StringComparison.Ordinal);
        Assert.Equal(permit, SignedMessage.ReadClaims<AclClaims>(jws));
    }

    [Fact]
    public void Sign_ConnectionRequest_WritesRequireConfirmation()
    {
        var request = new ConnectionRequestClaims
        {
            Typ = MessageTypes.ConnectionsRequest,
            Iss = AppId,
            Sub = "-",
            Aud = "-",
            Iat = Now,
            Exp = Now.AddMinutes(5),
            Cid = "c",
            Jti = Guid.NewGuid().ToString(),
        };

        var json = System.Text.Encoding.UTF8.GetString(SignedMessage.Serialize(request));

        Assert.Contains("\"require_confirmation\":true", json, StringComparison.Ordinal);
        Assert.True(SignedMessage.ReadClaims<ConnectionRequestClaims>(SignedMessage.Sign(request, Key)).RequireConfirmation);
    }

    [Fact]
    public void Sign_AsBaseType_StillWritesDerivedClaims()
    {
        MessageClaims claims = Response();
        var json = System.Text.Encoding.UTF8.GetString(SignedMessage.Sign(claims, Key).PayloadBytes.Span);
        Assert.Contains("\"status\":\"accepted\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadClaims_UnknownExtraClaims_AreIgnored()
    {
        var jws = Raw("{\"typ\":\"identities.connections.resp\",\"iss\":\"84099724068\",\"sub\":\"84099724068\",\"aud\":\"" + AppId + "\",\"iat\":\"2026-11-28T09:32:22Z\",\"exp\":\"2026-11-28T09:37:22.5Z\",\"cid\":\"c\",\"jti\":\"j\",\"status\":\"accepted\",\"extra\":{\"deep\":[1,2,{\"x\":null}]},\"another\":5}");

        var claims = SignedMessage.ReadClaims<ConnectionResponseClaims>(jws);

        Assert.Equal(ResponseStatuses.Accepted, claims.Status);
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 9, 37, 22, 500, TimeSpan.Zero), claims.Exp);
    }

    [Fact]
    public void ReadClaims_AsBaseType_ReadsCommonClaimsOfAnyMessage()
    {
        var jws = FlattenedJws.Parse(Conformance.ReadText("ts-sdk", "request-jws.json"));
        var claims = SignedMessage.ReadClaims<MessageClaims>(jws);
        Assert.Equal(AppId, claims.Iss);
    }

    [Theory]
    [InlineData("{\"iss\":\"a\",\"sub\":\"a\",\"iat\":\"2026-11-28T09:32:22Z\",\"exp\":\"2026-11-28T09:32:22Z\",\"jti\":\"j\",\"status\":\"accepted\"}")]
    [InlineData("{\"typ\":null,\"iss\":\"a\",\"sub\":\"a\",\"iat\":\"2026-11-28T09:32:22Z\",\"exp\":\"2026-11-28T09:32:22Z\",\"jti\":\"j\",\"status\":\"accepted\"}")]
    [InlineData("{\"typ\":\"t\",\"iss\":\"a\",\"sub\":\"a\",\"iat\":\"yesterday\",\"exp\":\"2026-11-28T09:32:22Z\",\"jti\":\"j\",\"status\":\"accepted\"}")]
    [InlineData("{\"typ\":\"t\",\"iss\":\"a\",\"sub\":\"a\",\"iat\":\"2026-11-28T09:32:22Z\",\"exp\":\"2026-11-28T09:32:22Z\",\"jti\":\"j\"}")]
    [InlineData("{\"typ\":\"t\",\"iss\":\"a\",\"sub\":\"a\",\"iat\":\"2026-11-28T09:32:22Z\",\"exp\":\"2026-11-28T09:32:22Z\",\"jti\":\"j\",\"status\":7}")]
    [InlineData("[]")]
    [InlineData("not json")]
    public void ReadClaims_BadClaims_ThrowsMessageFormatException(string json)
    {
        var ex = Assert.Throws<MessageFormatException>(() => SignedMessage.ReadClaims<ConnectionResponseClaims>(Raw(json)));
        Assert.Equal("invalid_message", ex.ErrorCode);
    }

    [Fact]
    public void ReadClaims_ControlForBadClaims_Parses()
    {
        var json = "{\"typ\":\"t\",\"iss\":\"a\",\"sub\":\"a\",\"iat\":\"2026-11-28T09:32:22Z\",\"exp\":\"2026-11-28T09:32:22Z\",\"jti\":\"j\",\"status\":\"accepted\"}";
        Assert.Equal("accepted", SignedMessage.ReadClaims<ConnectionResponseClaims>(Raw(json)).Status);
    }

    [Fact]
    public void PeekType_NoTyp_ReturnsNull()
    {
        Assert.Null(SignedMessage.PeekType(Raw("{\"iss\":\"a\"}")));
        Assert.Throws<MessageFormatException>(() => SignedMessage.PeekType(Raw("[1]")));
    }

    private static AuthenticationResponseClaims Response() => new()
    {
        Typ = MessageTypes.FactsQueryResponse,
        Iss = UserId,
        Sub = UserId,
        Aud = AppId,
        Iat = Now,
        Exp = Now.AddMinutes(5),
        Cid = "cid-1",
        Jti = Guid.NewGuid().ToString(),
        Status = ResponseStatuses.Accepted,
        DeviceId = "1",
    };

    private static FlattenedJws Raw(string json) => FlattenedJws.Sign(System.Text.Encoding.UTF8.GetBytes(json), Key);

    private static JsonElement Keys()
    {
        using var doc = JsonDocument.Parse(Conformance.ReadText("ts-sdk", "keys.json"));
        return doc.RootElement.Clone();
    }
}
