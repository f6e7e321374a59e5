using Geralt;

namespace Self.Protocol.Keys;

/// <summary>Ed25519 signature verification that never throws on bad input.</summary>
public static class Ed25519Verifier
{
    /// <summary>Length of an Ed25519 public key.</summary>
    public const int PublicKeySize = Ed25519.PublicKeySize;

    /// <summary>Length of an Ed25519 signature.</summary>
    public const int SignatureSize = Ed25519.SignatureSize;

    /// <summary>
    /// True when <paramref name="signature"/> is a valid Ed25519 signature of <paramref name="data"/> by
    /// <paramref name="publicKey"/>; false for a wrong signature or keys and signatures of the wrong length.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != PublicKeySize || signature.Length != SignatureSize)
        {
            return false;
        }

        return Ed25519.Verify(signature, data, publicKey);
    }
}
