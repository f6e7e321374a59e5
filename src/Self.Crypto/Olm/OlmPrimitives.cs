using System.Security.Cryptography;
using Geralt;
using Self.Protocol.Encoding;

namespace Self.Crypto.Olm;

/// <summary>The building blocks of Olm v1 as libolm 3 combines them.</summary>
internal static class OlmPrimitives
{
    public const int KeyLength = 32;
    public const int MacLength = 8;
    public const byte ProtocolVersion = 3;

    private static ReadOnlySpan<byte> RootInfo => "OLM_ROOT"u8;
    private static ReadOnlySpan<byte> RatchetInfo => "OLM_RATCHET"u8;
    private static ReadOnlySpan<byte> MessageKeysInfo => "OLM_KEYS"u8;
    private static ReadOnlySpan<byte> MessageKeySeed => [0x01];
    private static ReadOnlySpan<byte> ChainKeySeed => [0x02];

    /// <summary>A fresh Curve25519 pair. The private half is kept unclamped, as libolm keeps it.</summary>
    public static (byte[] PublicKey, byte[] PrivateKey) GenerateCurve25519()
    {
        var privateKey = new byte[KeyLength];
        SecureRandom.Fill(privateKey);
        return (Curve25519PublicFromPrivate(privateKey), privateKey);
    }

    public static byte[] Curve25519PublicFromPrivate(ReadOnlySpan<byte> privateKey)
    {
        var publicKey = new byte[KeyLength];
        X25519.ComputePublicKey(publicKey, privateKey);
        return publicKey;
    }

    /// <summary>Raw X25519 (crypto_scalarmult), refusing points that give an all-zero secret.</summary>
    public static void SharedSecret(Span<byte> destination, ReadOnlySpan<byte> ourPrivate, ReadOnlySpan<byte> theirPublic)
    {
        try
        {
            X25519.ComputeSharedSecret(destination, ourPrivate, theirPublic);
        }
        catch (CryptographicException)
        {
            throw new OlmException(CryptoErrorCodes.BadKey, "A Curve25519 public key in the message is not a usable point.");
        }
    }

    /// <summary>Root and first chain key of a new session from the triple Diffie-Hellman secret.</summary>
    public static void DeriveRootAndChain(ReadOnlySpan<byte> sharedSecret, Span<byte> rootKey, Span<byte> chainKey)
    {
        Span<byte> derived = stackalloc byte[64];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, sharedSecret, derived, [], RootInfo);
        derived[..32].CopyTo(rootKey);
        derived[32..].CopyTo(chainKey);
        CryptographicOperations.ZeroMemory(derived);
    }

    /// <summary>One step of the Diffie-Hellman ratchet: a new root key and a new chain key.</summary>
    public static void AdvanceRoot(
        ReadOnlySpan<byte> rootKey,
        ReadOnlySpan<byte> ourRatchetPrivate,
        ReadOnlySpan<byte> theirRatchetPublic,
        Span<byte> newRootKey,
        Span<byte> newChainKey)
    {
        Span<byte> secret = stackalloc byte[KeyLength];
        Span<byte> derived = stackalloc byte[64];
        SharedSecret(secret, ourRatchetPrivate, theirRatchetPublic);
        HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, derived, rootKey, RatchetInfo);
        derived[..32].CopyTo(newRootKey);
        derived[32..].CopyTo(newChainKey);
        CryptographicOperations.ZeroMemory(secret);
        CryptographicOperations.ZeroMemory(derived);
    }

    public static void MessageKey(ReadOnlySpan<byte> chainKey, Span<byte> messageKey) =>
        HMACSHA256.HashData(chainKey, MessageKeySeed, messageKey);

    /// <summary>The next chain key; <paramref name="nextChainKey"/> may be <paramref name="chainKey"/> itself.</summary>
    public static void AdvanceChainKey(ReadOnlySpan<byte> chainKey, Span<byte> nextChainKey)
    {
        Span<byte> next = stackalloc byte[32];
        HMACSHA256.HashData(chainKey, ChainKeySeed, next);
        next.CopyTo(nextChainKey);
        CryptographicOperations.ZeroMemory(next);
    }

    /// <summary>
    /// Builds a normal message: the plaintext under AES-256-CBC with key and IV from HKDF "OLM_KEYS" of the
    /// message key, then the HMAC-SHA-256 of the encoded message, truncated to 8 bytes.
    /// </summary>
    public static byte[] EncryptNormalMessage(
        ReadOnlySpan<byte> messageKey,
        ReadOnlySpan<byte> ratchetKey,
        uint counter,
        ReadOnlySpan<byte> plaintext)
    {
        Span<byte> keys = stackalloc byte[80];
        Span<byte> mac = stackalloc byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, messageKey, keys, [], MessageKeysInfo);
        try
        {
            byte[] ciphertext;
            using (var aes = Aes.Create())
            {
                aes.SetKey(keys[..32]);
                ciphertext = aes.EncryptCbc(plaintext, keys[64..80], PaddingMode.PKCS7);
            }

            var output = OlmWireFormat.EncodeNormal(ratchetKey, counter, ciphertext);
            HMACSHA256.HashData(keys[32..64], output.AsSpan(0, output.Length - MacLength), mac);
            mac[..MacLength].CopyTo(output.AsSpan(output.Length - MacLength));
            return output;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keys);
        }
    }

    /// <summary>
    /// Checks the MAC over <paramref name="authenticated"/> and decrypts <paramref name="ciphertext"/>;
    /// null when the MAC or the padding is wrong.
    /// </summary>
    public static byte[]? VerifyAndDecrypt(
        ReadOnlySpan<byte> messageKey,
        ReadOnlySpan<byte> authenticated,
        ReadOnlySpan<byte> mac,
        ReadOnlySpan<byte> ciphertext)
    {
        Span<byte> keys = stackalloc byte[80];
        Span<byte> expected = stackalloc byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, messageKey, keys, [], MessageKeysInfo);
        try
        {
            HMACSHA256.HashData(keys[32..64], authenticated, expected);
            if (mac.Length != MacLength || !CryptographicOperations.FixedTimeEquals(expected[..MacLength], mac))
            {
                return null;
            }

            if (ciphertext.Length == 0 || ciphertext.Length % 16 != 0)
            {
                return null;
            }

            using var aes = Aes.Create();
            aes.SetKey(keys[..32]);
            try
            {
                return aes.DecryptCbc(ciphertext, keys[64..80], PaddingMode.PKCS7);
            }
            catch (CryptographicException)
            {
                return null;
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keys);
        }
    }

    public static string SessionId(ReadOnlySpan<byte> aliceIdentityKey, ReadOnlySpan<byte> aliceBaseKey, ReadOnlySpan<byte> bobOneTimeKey)
    {
        Span<byte> input = stackalloc byte[KeyLength * 3];
        aliceIdentityKey.CopyTo(input);
        aliceBaseKey.CopyTo(input[KeyLength..]);
        bobOneTimeKey.CopyTo(input[(2 * KeyLength)..]);
        return Base64Codec.EncodeStandard(SHA256.HashData(input));
    }
}
