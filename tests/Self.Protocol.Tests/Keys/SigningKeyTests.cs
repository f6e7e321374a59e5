using Self.Protocol.Encoding;
using Self.Protocol.Keys;
using Self.Testing;

namespace Self.Protocol.Tests.Keys;

public class SigningKeyTests
{
    private const string AppSeed = "oIzwfJpiIBY+k/29x3M7K1F5VUXxyQvEO/X4hzm9jMY";
    private const string AppPublic = "cylBjRCouM9R9YWWcAJ67P1cLe-6GNp3-3lo5YOfM3g";

    [Fact]
    public void ParseSecret_AppSecretFromKeysJson_GivesKidAndPublicKey()
    {
        using var keys = System.Text.Json.JsonDocument.Parse(Conformance.ReadText("ts-sdk", "keys.json"));
        var app = keys.RootElement.GetProperty("app");

        var key = SigningKey.ParseSecret(app.GetProperty("app_secret_key_string").GetString()!);

        Assert.Equal(app.GetProperty("app_key_id").GetString(), key.Kid);
        Assert.Equal(app.GetProperty("app_ed25519_public_b64url").GetString(), key.PublicKeyEncoded);
    }

    [Fact]
    public void ParseSecret_Prefixed_StripsPrefix()
    {
        var key = SigningKey.ParseSecret("sk_7:" + AppSeed);
        Assert.Equal("7", key.Kid);
        Assert.Equal(AppPublic, key.PublicKeyEncoded);
    }

    [Fact]
    public void ParseSecret_NoColon_UsesKidOne()
    {
        var key = SigningKey.ParseSecret(AppSeed);
        Assert.Equal("1", key.Kid);
        Assert.Equal(AppPublic, key.PublicKeyEncoded);
    }

    [Fact]
    public void ParseSecret_PrefixedWithoutColon_StripsPrefixAndUsesKidOne()
    {
        var key = SigningKey.ParseSecret("sk_" + AppSeed);
        Assert.Equal("1", key.Kid);
        Assert.Equal(AppPublic, key.PublicKeyEncoded);
    }

    [Theory]
    [InlineData("1:AAAA")]
    [InlineData("1:" + AppSeed + "AAAA")]
    [InlineData("1:not base64!")]
    [InlineData(":" + AppSeed)]
    [InlineData("")]
    public void ParseSecret_Bad_ThrowsKeyFormatExceptionWithoutSecret(string secret)
    {
        var ex = Assert.Throws<KeyFormatException>(() => SigningKey.ParseSecret(secret));
        Assert.Equal("invalid_key", ex.ErrorCode);
        Assert.DoesNotContain(AppSeed, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseSecret_ShortSeed_MessageNamesTheLength()
    {
        var ex = Assert.Throws<KeyFormatException>(() => SigningKey.ParseSecret("1:" + Base64Codec.EncodeStandard(new byte[16])));
        Assert.Contains("32", ex.Message, StringComparison.Ordinal);
        Assert.Contains("16", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToSecret_RoundTrip_GivesSameKey()
    {
        var key = SigningKey.Generate("device-9");
        var again = SigningKey.ParseSecret(key.ToSecret());
        Assert.Equal(key.Kid, again.Kid);
        Assert.Equal(key.PublicKey, again.PublicKey);
        Assert.Equal(key.Seed, again.Seed);
    }

    [Fact]
    public void Generate_NoKid_UsesSha256OfPublicKey()
    {
        var key = SigningKey.Generate();
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(key.PublicKey)), key.Kid);
        Assert.Equal(64, key.Kid.Length);
    }

    [Fact]
    public void Generate_TwoKeys_Differ()
    {
        Assert.NotEqual(SigningKey.Generate("a").PublicKey, SigningKey.Generate("a").PublicKey);
    }

    [Fact]
    public void Sign_Message_VerifiesOnlyForSameMessageAndKey()
    {
        var key = SigningKey.Generate("1");
        var data = "hello"u8.ToArray();
        var signature = key.Sign(data);

        Assert.Equal(64, signature.Length);
        Assert.True(Ed25519Verifier.Verify(key.PublicKey, data, signature));
        Assert.False(Ed25519Verifier.Verify(key.PublicKey, "hellp"u8, signature));
        Assert.False(Ed25519Verifier.Verify(SigningKey.Generate("1").PublicKey, data, signature));
    }

    [Fact]
    public void Verify_WrongLengths_ReturnsFalseWithoutThrowing()
    {
        var key = SigningKey.Generate("1");
        var signature = key.Sign("x"u8);
        Assert.False(Ed25519Verifier.Verify(key.PublicKey.AsSpan(0, 31), "x"u8, signature));
        Assert.False(Ed25519Verifier.Verify(key.PublicKey, "x"u8, signature.AsSpan(0, 63)));
    }

    [Fact]
    public void ToString_Key_DoesNotRevealSeed()
    {
        var key = SigningKey.FromSeed("1", Base64Codec.Decode(AppSeed));
        Assert.DoesNotContain(AppSeed, key.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Base64Codec.EncodeUrl(key.Seed), key.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void FromSeed_WrongLength_Throws()
    {
        Assert.Throws<KeyFormatException>(() => SigningKey.FromSeed("1", new byte[31]));
    }
}
