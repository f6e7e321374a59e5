using Self.Crypto.Keys;
using Self.Crypto.Olm;

namespace Self.Crypto.Tests.Olm;

public sealed class Curve25519ConversionTests
{
    // RFC 8032 test 1: the public key of the all-zero-based seed 9d61b19d…
    private static readonly byte[] Rfc8032Seed = Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    private static readonly byte[] Rfc8032Public = Convert.FromHexString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");

    [Fact]
    public void PublicKeyFromEd25519_IsThePublicKeyOfTheDerivedPrivateKey()
    {
        var fromPublic = Curve25519Conversion.PublicKeyFromEd25519(Rfc8032Public);
        var derivedPrivate = Curve25519Conversion.PrivateKeyFromEd25519Seed(Rfc8032Seed);
        var fromPrivate = new byte[32];
        Geralt.X25519.ComputePublicKey(fromPrivate, derivedPrivate);

        Assert.Equal(fromPrivate, fromPublic);
        // The private key is clamp(SHA-512(seed)[0..32]).
        var hash = System.Security.Cryptography.SHA512.HashData(Rfc8032Seed);
        hash[0] &= 248;
        hash[31] &= 127;
        hash[31] |= 64;
        Assert.Equal(hash[..32], derivedPrivate);
    }

    [Fact]
    public void IdentityKeyFromEd25519_IsStandardBase64WithoutPadding()
    {
        var key = Curve25519Conversion.IdentityKeyFromEd25519(Rfc8032Public);
        Assert.Equal(43, key.Length);
        Assert.Equal(Curve25519Conversion.PublicKeyFromEd25519(Rfc8032Public), Convert.FromBase64String(key + "="));
    }

    [Fact]
    public void PublicKeyFromEd25519_WrongLength_ThrowsBadKey() =>
        Assert.Equal(CryptoErrorCodes.BadKey, Assert.Throws<OlmException>(() => Curve25519Conversion.PublicKeyFromEd25519(new byte[31])).ErrorCode);

    [Fact]
    public void PublicKeyFromEd25519_NotAPoint_ThrowsBadKey()
    {
        // y = 2 is not on the curve.
        var notAPoint = new byte[32];
        notAPoint[0] = 2;
        Assert.Equal(CryptoErrorCodes.BadKey, Assert.Throws<OlmException>(() => Curve25519Conversion.PublicKeyFromEd25519(notAPoint)).ErrorCode);
    }
}
