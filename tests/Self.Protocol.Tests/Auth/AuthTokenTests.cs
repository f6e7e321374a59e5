using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Self.Protocol.Auth;
using Self.Protocol.Encoding;
using Self.Protocol.Jws;
using Self.Protocol.Keys;
using Self.Testing;

namespace Self.Protocol.Tests.Auth;

public class AuthTokenTests
{
    private const string AppId = "f37e9ec4af9a32d8e9fdad497a8b8ab1";
    private static readonly DateTimeOffset Start = new(2026, 11, 28, 9, 0, 0, TimeSpan.Zero);
    private static readonly SigningKey Key = SigningKey.Generate("1");

    [Fact]
    public void Create_Now_HasSpecClaimsAndVerifies()
    {
        var time = new FakeTimeProvider(Start);
        var token = AuthToken.Create(Key, AppId, time);

        var claims = AuthToken.Verify(token, Key.PublicKey, Start, AuthToken.DefaultSkew);

        Assert.Equal(AppId, claims.Iss);
        Assert.Equal(AppId, claims.Sub);
        Assert.Equal("auth.token", claims.Typ);
        Assert.Equal("1", claims.Kid);
        Assert.Equal(Start.AddSeconds(-5), claims.Iat);
        Assert.Equal(Start.AddSeconds(60), claims.Exp);
        Assert.True(Guid.TryParse(claims.Jti, out _));
        Assert.True(Guid.TryParse(claims.Cid, out _));
    }

    [Fact]
    public void Create_Claims_AreIntegerSecondsInTypeScriptOrder()
    {
        var token = AuthToken.Create(Key, AppId, new FakeTimeProvider(Start.AddMilliseconds(700)));
        var json = System.Text.Encoding.UTF8.GetString(CompactJws.Parse(token).PayloadBytes.Span);
        using var doc = JsonDocument.Parse(json);

        Assert.Equal(["jti", "cid", "iat", "exp", "iss", "sub", "typ"], doc.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(Start.ToUnixTimeSeconds() - 5, doc.RootElement.GetProperty("iat").GetInt64());
        Assert.Equal(JsonValueKind.Number, doc.RootElement.GetProperty("exp").ValueKind);
    }

    [Fact]
    public void Create_TwoTokens_HaveFreshJtiAndCid()
    {
        var time = new FakeTimeProvider(Start);
        var a = AuthToken.ReadUnverified(AuthToken.Create(Key, AppId, time));
        var b = AuthToken.ReadUnverified(AuthToken.Create(Key, AppId, time));
        Assert.NotEqual(a.Jti, b.Jti);
        Assert.NotEqual(a.Cid, b.Cid);
    }

    [Fact]
    public void Verify_TokenFromTypeScriptSdkAtRecordedTime_MatchesRecordedClaims()
    {
        var token = Conformance.ReadText("ts-sdk", "auth-token.txt").Trim();
        using var recorded = JsonDocument.Parse(Conformance.ReadText("ts-sdk", "auth-token.json"));
        using var keys = JsonDocument.Parse(Conformance.ReadText("ts-sdk", "keys.json"));
        var appKey = Base64Codec.Decode(keys.RootElement.GetProperty("app").GetProperty("app_ed25519_public_b64url").GetString()!);
        var expected = recorded.RootElement.GetProperty("claims");
        var recordedNow = DateTimeOffset.FromUnixTimeSeconds(expected.GetProperty("iat").GetInt64() + 5);

        var claims = AuthToken.Verify(token, appKey, recordedNow, AuthToken.DefaultSkew);

        Assert.Equal(expected.GetProperty("jti").GetString(), claims.Jti);
        Assert.Equal(expected.GetProperty("cid").GetString(), claims.Cid);
        Assert.Equal(expected.GetProperty("iss").GetString(), claims.Iss);
        Assert.Equal(expected.GetProperty("sub").GetString(), claims.Sub);
        Assert.Equal(expected.GetProperty("typ").GetString(), claims.Typ);
        Assert.Equal(expected.GetProperty("iat").GetInt64(), claims.Iat.ToUnixTimeSeconds());
        Assert.Equal(expected.GetProperty("exp").GetInt64(), claims.Exp.ToUnixTimeSeconds());
        Assert.Equal("1", claims.Kid);
    }

    [Fact]
    public void Verify_TokenFromTypeScriptSdkLongAfterExpiry_IsExpired()
    {
        var token = Conformance.ReadText("ts-sdk", "auth-token.txt").Trim();
        var appKey = Base64Codec.Decode("cylBjRCouM9R9YWWcAJ67P1cLe-6GNp3-3lo5YOfM3g");
        var claims = AuthToken.ReadUnverified(token);

        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.Verify(token, appKey, claims.Exp.AddSeconds(61), AuthToken.DefaultSkew));
        Assert.Equal(AuthTokenFailure.Expired, ex.Reason);
    }

    [Fact]
    public void Verify_ExpiredWithinSkew_IsAccepted()
    {
        var token = AuthToken.Create(Key, AppId, new FakeTimeProvider(Start));
        var claims = AuthToken.Verify(token, Key.PublicKey, Start.AddSeconds(60 + 60), AuthToken.DefaultSkew);
        Assert.Equal(AppId, claims.Iss);
    }

    [Fact]
    public void Verify_ExpiredBeyondSkew_ThrowsExpired()
    {
        var token = AuthToken.Create(Key, AppId, new FakeTimeProvider(Start));
        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.Verify(token, Key.PublicKey, Start.AddSeconds(121), AuthToken.DefaultSkew));
        Assert.Equal(AuthTokenFailure.Expired, ex.Reason);
        Assert.Equal("token_expired", ex.ErrorCode);
    }

    [Fact]
    public void Verify_IssuedInFutureBeyondSkew_ThrowsIssuedInFuture()
    {
        var token = AuthToken.Create(Key, AppId, new FakeTimeProvider(Start.AddMinutes(5)));
        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.Verify(token, Key.PublicKey, Start, AuthToken.DefaultSkew));
        Assert.Equal(AuthTokenFailure.IssuedInFuture, ex.Reason);
    }

    [Fact]
    public void Verify_IssuedInFutureWithinSkew_IsAccepted()
    {
        var token = AuthToken.Create(Key, AppId, new FakeTimeProvider(Start.AddSeconds(60)));
        Assert.Equal(AppId, AuthToken.Verify(token, Key.PublicKey, Start, AuthToken.DefaultSkew).Iss);
    }

    [Fact]
    public void Verify_OtherKey_ThrowsInvalidSignature()
    {
        var token = AuthToken.Create(Key, AppId, new FakeTimeProvider(Start));
        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.Verify(token, SigningKey.Generate("1").PublicKey, Start, AuthToken.DefaultSkew));
        Assert.Equal(AuthTokenFailure.InvalidSignature, ex.Reason);
    }

    [Fact]
    public void Verify_TamperedPayload_ThrowsInvalidSignature()
    {
        var token = AuthToken.Create(Key, AppId, new FakeTimeProvider(Start));
        var parts = token.Split('.');
        var claims = Claims(Start, iss: "84099724068", sub: "84099724068");
        var tampered = parts[0] + "." + Base64Codec.EncodeUrl(claims) + "." + parts[2];

        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.Verify(tampered, Key.PublicKey, Start, AuthToken.DefaultSkew));
        Assert.Equal(AuthTokenFailure.InvalidSignature, ex.Reason);
    }

    [Fact]
    public void Verify_TamperedSignature_ThrowsInvalidSignature()
    {
        var token = AuthToken.Create(Key, AppId, new FakeTimeProvider(Start));
        var parts = token.Split('.');
        var signature = Base64Codec.Decode(parts[2]);
        signature[0] ^= 0x80;
        var tampered = parts[0] + "." + parts[1] + "." + Base64Codec.EncodeUrl(signature);

        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.Verify(tampered, Key.PublicKey, Start, AuthToken.DefaultSkew));
        Assert.Equal(AuthTokenFailure.InvalidSignature, ex.Reason);
    }

    [Fact]
    public void Verify_AlgNoneWithEmptySignature_ThrowsUnsupportedAlgorithm()
    {
        var header = Base64Codec.EncodeUrl("{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"1\"}"u8);
        var token = header + "." + Base64Codec.EncodeUrl(Claims(Start, AppId, AppId)) + ".";

        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.Verify(token, Key.PublicKey, Start, AuthToken.DefaultSkew));
        Assert.Equal(AuthTokenFailure.UnsupportedAlgorithm, ex.Reason);
    }

    [Fact]
    public void Verify_AlgHs256_ThrowsUnsupportedAlgorithm()
    {
        var token = Signed("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"1\"}", Claims(Start, AppId, AppId));
        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.Verify(token, Key.PublicKey, Start, AuthToken.DefaultSkew));
        Assert.Equal(AuthTokenFailure.UnsupportedAlgorithm, ex.Reason);
    }

    [Fact]
    public void Verify_ControlSignedTheSameWayWithEdDsa_IsAccepted()
    {
        var token = Signed("{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"1\"}", Claims(Start, AppId, AppId));
        Assert.Equal(AppId, AuthToken.Verify(token, Key.PublicKey, Start, AuthToken.DefaultSkew).Sub);
    }

    [Fact]
    public void Verify_MissingKid_ThrowsMalformed()
    {
        var token = Signed("{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}", Claims(Start, AppId, AppId));
        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.Verify(token, Key.PublicKey, Start, AuthToken.DefaultSkew));
        Assert.Equal(AuthTokenFailure.Malformed, ex.Reason);
    }

    [Fact]
    public void Verify_IssuerDiffersFromSubject_ThrowsIssuerMismatch()
    {
        var token = Signed("{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"1\"}", Claims(Start, AppId, "84099724068"));
        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.Verify(token, Key.PublicKey, Start, AuthToken.DefaultSkew));
        Assert.Equal(AuthTokenFailure.IssuerMismatch, ex.Reason);
    }

    [Fact]
    public void Verify_WrongTyp_ThrowsWrongType()
    {
        var token = Signed("{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"1\"}", Claims(Start, AppId, AppId, typ: "identities.facts.query.req"));
        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.Verify(token, Key.PublicKey, Start, AuthToken.DefaultSkew));
        Assert.Equal(AuthTokenFailure.WrongType, ex.Reason);
    }

    [Theory]
    [InlineData("a.b")]
    [InlineData("a.b.c.d")]
    [InlineData("***.e30.AA")]
    [InlineData("")]
    public void Verify_NotACompactJws_ThrowsMalformed(string token)
    {
        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.Verify(token, Key.PublicKey, Start, AuthToken.DefaultSkew));
        Assert.Equal(AuthTokenFailure.Malformed, ex.Reason);
    }

    [Theory]
    [InlineData("{\"jti\":\"j\",\"iss\":\"a\",\"sub\":\"a\",\"typ\":\"auth.token\",\"iat\":\"1795858337\",\"exp\":1795858402}")]
    [InlineData("{\"jti\":\"j\",\"iss\":\"a\",\"sub\":\"a\",\"typ\":\"auth.token\",\"exp\":1795858402}")]
    [InlineData("{\"iss\":\"a\",\"sub\":\"a\",\"typ\":\"auth.token\",\"iat\":1795858337,\"exp\":1795858402}")]
    [InlineData("[1,2]")]
    [InlineData("not json")]
    public void ReadUnverified_BadClaims_ThrowsMalformed(string claims)
    {
        var token = Signed("{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"1\"}", System.Text.Encoding.UTF8.GetBytes(claims));
        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.ReadUnverified(token));
        Assert.Equal(AuthTokenFailure.Malformed, ex.Reason);
    }

    [Fact]
    public void ReadUnverified_MillisecondTimestamps_AreNormalized()
    {
        var ms = Start.ToUnixTimeMilliseconds();
        var claims = System.Text.Encoding.UTF8.GetBytes($"{{\"jti\":\"j\",\"cid\":\"c\",\"iss\":\"a\",\"sub\":\"a\",\"typ\":\"auth.token\",\"iat\":{ms},\"exp\":{ms + 60_000}}}");
        var token = Signed("{\"alg\":\"EdDSA\",\"kid\":\"1\"}", claims);

        var read = AuthToken.ReadUnverified(token);
        Assert.Equal(Start, read.Iat);
        Assert.Equal(Start.AddMinutes(1), read.Exp);
    }

    [Theory]
    [InlineData(-5, 315_360_000)] // exp = now + 10 years
    [InlineData(-5, 61)] // 66 s from iat to exp: one second too long
    [InlineData(10, 0)] // exp before iat
    public void Verify_LifetimeOutsideSpec_ThrowsLifetimeTooLong(long iatOffset, long expOffset)
    {
        var token = Signed(Header, TimedClaims(Start.ToUnixTimeSeconds() + iatOffset, Start.ToUnixTimeSeconds() + expOffset));
        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.Verify(token, Key.PublicKey, Start, AuthToken.DefaultSkew));
        Assert.Equal(AuthTokenFailure.LifetimeTooLong, ex.Reason);
        Assert.Equal("token_lifetime_too_long", ex.ErrorCode);
    }

    [Fact]
    public void Verify_LifetimeOfExactly65Seconds_IsAccepted()
    {
        var token = Signed(Header, TimedClaims(Start.ToUnixTimeSeconds() - 5, Start.ToUnixTimeSeconds() + 60));
        Assert.Equal(AppId, AuthToken.Verify(token, Key.PublicKey, Start, AuthToken.DefaultSkew).Iss);
    }

    [Fact]
    public void Verify_Iat2001Exp2100_ThrowsLifetimeTooLong()
    {
        var token = Signed(Header, TimedClaims(new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), new DateTimeOffset(2100, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds()));
        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.Verify(token, Key.PublicKey, Start, AuthToken.DefaultSkew));
        Assert.Equal(AuthTokenFailure.LifetimeTooLong, ex.Reason);
    }

    [Fact]
    public void Verify_IatOlderThanLifetimePlusSkew_ThrowsExpired()
    {
        var iat = Start.ToUnixTimeSeconds() - 126;
        var token = Signed(Header, TimedClaims(iat, iat + 65));
        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.Verify(token, Key.PublicKey, Start, AuthToken.DefaultSkew));
        Assert.Equal(AuthTokenFailure.Expired, ex.Reason);
    }

    [Theory]
    [InlineData(-62_135_596_800L, -62_135_596_800L + 60)] // year 1
    [InlineData(-62_135_596_800L, 253_402_300_799L)] // year 1 to year 9999
    [InlineData(253_402_300_799L - 60, 253_402_300_799L)] // year 9999
    public void Verify_ExtremeYears_AreRefusedWithoutOverflow(long iat, long exp)
    {
        var token = Signed(Header, TimedClaims(iat, exp));
        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.Verify(token, Key.PublicKey, Start, AuthToken.DefaultSkew));
        Assert.Contains(ex.Reason, new[] { AuthTokenFailure.LifetimeTooLong, AuthTokenFailure.Expired, AuthTokenFailure.IssuedInFuture });
    }

    [Fact]
    public void ReadUnverified_ClaimWithInvalidUtf8_ThrowsMalformedNotInvalidOperation()
    {
        // Found by the property tests (issue 10): the reader does not check a string's UTF-8 until it is decoded.
        var claims = System.Text.Encoding.UTF8.GetBytes("{\"jti\":\"j\",\"iss\":\"a\",\"sub\":\"a\",\"typ\":\"auth.token\",\"iat\":1,\"exp\":2}");
        claims[9] = 0xB2;
        var ex = Assert.Throws<AuthTokenException>(() => AuthToken.ReadUnverified(Signed(Header, claims)));
        Assert.Equal(AuthTokenFailure.Malformed, ex.Reason);
    }

    [Fact]
    public void ReadUnverified_RepeatedClaim_ThrowsMalformed()
    {
        var claims = System.Text.Encoding.UTF8.GetBytes("{\"jti\":\"j\",\"iss\":\"a\",\"sub\":\"a\",\"iss\":\"b\",\"typ\":\"auth.token\",\"iat\":1,\"exp\":2}");
        Assert.Equal(AuthTokenFailure.Malformed, Assert.Throws<AuthTokenException>(() => AuthToken.ReadUnverified(Signed(Header, claims))).Reason);
    }

    private const string Header = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"1\"}";

    private static byte[] TimedClaims(long iat, long exp) =>
        System.Text.Encoding.UTF8.GetBytes(
            $"{{\"jti\":\"{Guid.NewGuid()}\",\"cid\":\"{Guid.NewGuid()}\",\"iat\":{iat},\"exp\":{exp},\"iss\":\"{AppId}\",\"sub\":\"{AppId}\",\"typ\":\"auth.token\"}}");

    private static byte[] Claims(DateTimeOffset now, string iss, string sub, string typ = "auth.token") =>
        System.Text.Encoding.UTF8.GetBytes(
            $"{{\"jti\":\"{Guid.NewGuid()}\",\"cid\":\"{Guid.NewGuid()}\",\"iat\":{now.ToUnixTimeSeconds() - 5},\"exp\":{now.ToUnixTimeSeconds() + 60},\"iss\":\"{iss}\",\"sub\":\"{sub}\",\"typ\":\"{typ}\"}}");

    private static string Signed(string headerJson, byte[] claims)
    {
        var header = Base64Codec.EncodeUrl(System.Text.Encoding.UTF8.GetBytes(headerJson));
        var payload = Base64Codec.EncodeUrl(claims);
        var signature = Key.Sign(System.Text.Encoding.ASCII.GetBytes(header + "." + payload));
        return header + "." + payload + "." + Base64Codec.EncodeUrl(signature);
    }
}
