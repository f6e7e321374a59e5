using System.Security.Cryptography;
using Geralt;
using Self.Protocol.Encoding;
using Self.Crypto.Olm;

namespace Self.Crypto.Keys;

/// <summary>
/// Ed25519 → X25519 (Curve25519), exactly as libsodium's <c>crypto_sign_ed25519_pk_to_curve25519</c> and
/// <c>crypto_sign_ed25519_sk_to_curve25519</c>: the public key is the Montgomery form of the Edwards point,
/// the private key is clamp(SHA-512(seed)[0..32]). This is how a device's Olm identity key follows from its
/// signing key.
/// </summary>
public static class Curve25519Conversion
{
    /// <summary>The Curve25519 public key of an Ed25519 public key (both 32 bytes).</summary>
    /// <exception cref="OlmException"><c>bad_key</c> when the key is not 32 bytes or not a valid point.</exception>
    public static byte[] PublicKeyFromEd25519(ReadOnlySpan<byte> ed25519PublicKey)
    {
        if (ed25519PublicKey.Length != Ed25519.PublicKeySize)
        {
            throw new OlmException(CryptoErrorCodes.BadKey, $"An Ed25519 public key is 32 bytes, not {ed25519PublicKey.Length}.");
        }

        var x25519 = new byte[X25519.PublicKeySize];
        try
        {
            Ed25519.ComputeX25519PublicKey(x25519, ed25519PublicKey);
        }
        catch (CryptographicException)
        {
            throw new OlmException(CryptoErrorCodes.BadKey, "The Ed25519 public key is not a valid curve point.");
        }

        return x25519;
    }

    /// <summary>The Curve25519 private key that belongs to an Ed25519 seed.</summary>
    public static byte[] PrivateKeyFromEd25519Seed(ReadOnlySpan<byte> ed25519Seed)
    {
        if (ed25519Seed.Length != Ed25519.SeedSize)
        {
            throw new ArgumentException("An Ed25519 seed is 32 bytes.", nameof(ed25519Seed));
        }

        Span<byte> publicKey = stackalloc byte[Ed25519.PublicKeySize];
        Span<byte> privateKey = stackalloc byte[Ed25519.PrivateKeySize];
        try
        {
            Ed25519.GenerateKeyPair(publicKey, privateKey, ed25519Seed);
            var x25519 = new byte[X25519.PrivateKeySize];
            Ed25519.ComputeX25519PrivateKey(x25519, privateKey);
            return x25519;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateKey);
        }
    }

    /// <summary>
    /// The Olm identity key (standard base64, no padding) of a device whose Ed25519 public key is given: what a
    /// sender needs, with a one-time key, to start a session.
    /// </summary>
    public static string IdentityKeyFromEd25519(ReadOnlySpan<byte> ed25519PublicKey) =>
        Base64Codec.EncodeStandard(PublicKeyFromEd25519(ed25519PublicKey));
}
