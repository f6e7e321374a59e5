using Self.Protocol.Encoding;
using Self.Protocol.Jws;
using Self.Protocol.Keys;
using Self.Testing;

namespace Self.Protocol.Tests.Jws;

public class CompactJwsTests
{
    private static readonly SigningKey Key = SigningKey.Generate("1");

    [Fact]
    public void Sign_RoundTrip_ParsesAndVerifies()
    {
        var jws = CompactJws.Sign("{\"a\":1}"u8, Key);
        var again = CompactJws.Parse(jws.ToCompact());

        Assert.Equal(jws, again);
        Assert.True(again.Verify(Key.PublicKey));
        Assert.False(again.Verify(SigningKey.Generate("1").PublicKey));
    }

    [Fact]
    public void Parse_TokenFromTypeScriptSdk_VerifiesWithAppKey()
    {
        var token = Conformance.ReadText("ts-sdk", "auth-token.txt").Trim();
        var jws = CompactJws.Parse(token);

        Assert.Equal(new JwsHeader("EdDSA", "1", "JWT"), jws.Header);
        Assert.True(jws.Verify(Base64Codec.Decode("cylBjRCouM9R9YWWcAJ67P1cLe-6GNp3-3lo5YOfM3g")));
        Assert.Equal(token, jws.ToCompact());
    }

    [Theory]
    [InlineData("onlyone")]
    [InlineData("two.parts")]
    [InlineData("a.b.c.d")]
    [InlineData("eyJhbGciOiJFZERTQSIsImtpZCI6IjEifQ.e30.AA.")]
    public void Parse_WrongSegmentCount_ThrowsJwsFormatException(string token)
    {
        var ex = Assert.Throws<JwsFormatException>(() => CompactJws.Parse(token));
        Assert.Contains("three segments", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("eyJhbGciOiJFZERTQSIsImtpZCI6IjEifQ.e30!.AA")]
    [InlineData("eyJhbGciOiJFZERTQSIsImtpZCI6IjEifQ.e30.A*A")]
    [InlineData("e30$.e30.AA")]
    public void Parse_NonBase64Segment_ThrowsJwsFormatException(string token)
    {
        var ex = Assert.Throws<JwsFormatException>(() => CompactJws.Parse(token));
        Assert.Contains("base64", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ControlWellFormed_Succeeds()
    {
        Assert.Equal("1", CompactJws.Parse("eyJhbGciOiJFZERTQSIsImtpZCI6IjEifQ.e30.AA").Header.Kid);
    }

    [Fact]
    public void Verify_TamperedPayload_ReturnsFalse()
    {
        var jws = CompactJws.Sign("{\"sub\":\"a\"}"u8, Key);
        var tampered = CompactJws.Parse(jws.Protected + "." + Base64Codec.EncodeUrl("{\"sub\":\"b\"}"u8) + "." + jws.Signature);
        Assert.False(tampered.Verify(Key.PublicKey));
    }
}
