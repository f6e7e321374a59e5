using System.Text.Json;
using Self.Protocol.Encoding;
using Self.Protocol.Jws;
using Self.Protocol.Keys;
using Self.Testing;

namespace Self.Protocol.Tests.Jws;

public class FlattenedJwsTests
{
    private static readonly SigningKey Key = SigningKey.Generate("k1");

    [Fact]
    public void Sign_Claims_VerifiesWithSignerKeyOnly()
    {
        var jws = FlattenedJws.Sign("{\"a\":1}"u8, Key);

        Assert.True(jws.Verify(Key.PublicKey));
        Assert.False(jws.Verify(SigningKey.Generate("k1").PublicKey));
        Assert.Equal(new JwsHeader("EdDSA", "k1", "JWT"), jws.Header);
        Assert.Equal("{\"a\":1}"u8.ToArray(), jws.PayloadBytes.ToArray());
    }

    [Fact]
    public void Sign_HeaderJson_HasAlgTypKidInOrder()
    {
        var jws = FlattenedJws.Sign("{}"u8, Key);
        Assert.Equal("{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"k1\"}", System.Text.Encoding.UTF8.GetString(Base64Codec.Decode(jws.Protected)));
    }

    [Fact]
    public void Sign_NullTyp_LeavesTypOut()
    {
        var jws = FlattenedJws.Sign("{}"u8, Key, typ: null);
        Assert.Null(jws.Header.Typ);
        Assert.Equal("{\"alg\":\"EdDSA\",\"kid\":\"k1\"}", System.Text.Encoding.UTF8.GetString(Base64Codec.Decode(jws.Protected)));
    }

    [Fact]
    public void ToJson_RoundTrip_KeepsPartsAndOrder()
    {
        var jws = FlattenedJws.Sign("{\"x\":\"y\"}"u8, Key);
        var json = jws.ToJson();

        Assert.StartsWith("{\"payload\":\"" + jws.Payload + "\",\"protected\":\"" + jws.Protected + "\",\"signature\":\"", json, StringComparison.Ordinal);
        var again = FlattenedJws.Parse(json);
        Assert.Equal(jws, again);
        Assert.True(again.Verify(Key.PublicKey));
    }

    [Fact]
    public void Parse_RequestJwsFromTypeScriptSdk_VerifiesWithAppKeyAndRoundTripsByteForByte()
    {
        var text = Conformance.ReadText("ts-sdk", "request-jws.json");
        var jws = FlattenedJws.Parse(text);
        var appKey = Base64Codec.Decode("cylBjRCouM9R9YWWcAJ67P1cLe-6GNp3-3lo5YOfM3g");

        Assert.True(jws.Verify(appKey));
        Assert.Equal("1", jws.Header.Kid);
        Assert.Equal(text, jws.ToJson());
    }

    [Fact]
    public void Parse_ExtraMembers_AreIgnored()
    {
        var jws = FlattenedJws.Sign("{}"u8, Key);
        var json = $"{{\"header\":{{\"x\":1}},\"payload\":\"{jws.Payload}\",\"protected\":\"{jws.Protected}\",\"signature\":\"{jws.Signature}\"}}";
        Assert.Equal(jws, FlattenedJws.Parse(json));
    }

    [Fact]
    public void Verify_AlgNone_ReturnsFalse()
    {
        var jws = WithHeader("{\"alg\":\"none\",\"kid\":\"k1\"}", sign: true);
        Assert.Equal("none", jws.Header.Alg);
        Assert.False(jws.Verify(Key.PublicKey));
    }

    [Fact]
    public void Verify_AlgHs256_ReturnsFalseEvenWithValidEd25519Signature()
    {
        var jws = WithHeader("{\"alg\":\"HS256\",\"kid\":\"k1\"}", sign: true);
        Assert.False(jws.Verify(Key.PublicKey));
    }

    [Fact]
    public void Verify_ControlWithEdDsaHeaderBuiltTheSameWay_ReturnsTrue()
    {
        var jws = WithHeader("{\"alg\":\"EdDSA\",\"kid\":\"k1\"}", sign: true);
        Assert.True(jws.Verify(Key.PublicKey));
    }

    [Fact]
    public void Verify_TamperedPayload_ReturnsFalse()
    {
        var jws = FlattenedJws.Sign("{\"amount\":1}"u8, Key);
        var tampered = new FlattenedJws(Base64Codec.EncodeUrl("{\"amount\":9}"u8), jws.Protected, jws.Signature);
        Assert.False(tampered.Verify(Key.PublicKey));
    }

    [Fact]
    public void Verify_TamperedSignature_ReturnsFalse()
    {
        var jws = FlattenedJws.Sign("{}"u8, Key);
        var signature = Base64Codec.Decode(jws.Signature);
        signature[10] ^= 1;
        var tampered = new FlattenedJws(jws.Payload, jws.Protected, Base64Codec.EncodeUrl(signature));
        Assert.False(tampered.Verify(Key.PublicKey));
    }

    [Fact]
    public void Verify_TruncatedSignature_ReturnsFalse()
    {
        var jws = FlattenedJws.Sign("{}"u8, Key);
        var tampered = new FlattenedJws(jws.Payload, jws.Protected, jws.Signature[..40]);
        Assert.False(tampered.Verify(Key.PublicKey));
    }

    [Fact]
    public void Parse_MissingKid_ThrowsJwsFormatException()
    {
        var ex = Assert.Throws<JwsFormatException>(() => WithHeader("{\"alg\":\"EdDSA\"}", sign: false));
        Assert.Contains("kid", ex.Message, StringComparison.Ordinal);
        Assert.Equal("invalid_jws", ex.ErrorCode);
    }

    [Theory]
    [InlineData("{\"alg\":\"EdDSA\",\"kid\":\"k1\",\"kid\":\"k2\"}")]
    [InlineData("{\"kid\":\"k1\"}")]
    [InlineData("{\"alg\":1,\"kid\":\"k1\"}")]
    [InlineData("{\"alg\":\"EdDSA\",\"kid\":\"k1\",\"crit\":[\"b64\"]}")]
    [InlineData("[\"EdDSA\"]")]
    [InlineData("not json")]
    public void Parse_BadHeader_ThrowsJwsFormatException(string header)
    {
        Assert.Throws<JwsFormatException>(() => WithHeader(header, sign: false));
    }

    [Theory]
    [InlineData("{\"payload\":\"e30\",\"protected\":\"e30!\",\"signature\":\"AA\"}")]
    [InlineData("{\"payload\":\"e3 0\",\"protected\":\"eyJhbGciOiJFZERTQSIsImtpZCI6IjEifQ\",\"signature\":\"AA\"}")]
    [InlineData("{\"payload\":\"e30\",\"protected\":\"eyJhbGciOiJFZERTQSIsImtpZCI6IjEifQ\",\"signature\":\"%%\"}")]
    [InlineData("{\"payload\":\"e30\",\"protected\":\"eyJhbGciOiJFZERTQSIsImtpZCI6IjEifQ\"}")]
    [InlineData("{\"payload\":1,\"protected\":\"eyJhbGciOiJFZERTQSIsImtpZCI6IjEifQ\",\"signature\":\"AA\"}")]
    [InlineData("{\"payload\":\"e30\",\"payload\":\"e30\",\"protected\":\"eyJhbGciOiJFZERTQSIsImtpZCI6IjEifQ\",\"signature\":\"AA\"}")]
    [InlineData("[]")]
    [InlineData("{\"payload\":\"e30\"")]
    [InlineData("{\"payload\":\"e30\",\"protected\":\"eyJhbGciOiJFZERTQSIsImtpZCI6IjEifQ\",\"signature\":\"AA\"} trailing")]
    [InlineData("")]
    public void Parse_Malformed_ThrowsJwsFormatException(string json)
    {
        Assert.Throws<JwsFormatException>(() => FlattenedJws.Parse(json));
    }

    [Fact]
    public void Parse_ControlWithSameShape_Succeeds()
    {
        var jws = FlattenedJws.Parse("{\"payload\":\"e30\",\"protected\":\"eyJhbGciOiJFZERTQSIsImtpZCI6IjEifQ\",\"signature\":\"AA\"}");
        Assert.Equal("1", jws.Header.Kid);
    }

    [Fact]
    public void FromJsonElement_Object_Parses()
    {
        var jws = FlattenedJws.Sign("{}"u8, Key);
        using var doc = JsonDocument.Parse("[" + jws.ToJson() + "]");
        Assert.Equal(jws, FlattenedJws.FromJsonElement(doc.RootElement[0]));
    }

    [Fact]
    public void ToString_Message_HidesPayload()
    {
        var jws = FlattenedJws.Sign("{\"secret\":\"s3cr3t\"}"u8, Key);
        Assert.DoesNotContain(jws.Payload, jws.ToString(), StringComparison.Ordinal);
    }

    private static FlattenedJws WithHeader(string headerJson, bool sign)
    {
        var header = Base64Codec.EncodeUrl(System.Text.Encoding.UTF8.GetBytes(headerJson));
        var payload = Base64Codec.EncodeUrl("{\"a\":1}"u8);
        var signature = sign
            ? Base64Codec.EncodeUrl(Key.Sign(System.Text.Encoding.ASCII.GetBytes(header + "." + payload)))
            : Base64Codec.EncodeUrl(new byte[64]);
        return new FlattenedJws(payload, header, signature);
    }
}
