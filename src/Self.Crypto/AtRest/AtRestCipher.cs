using System.Security.Cryptography;
using System.Text;
using Geralt;

namespace Self.Crypto.AtRest;

/// <summary>
/// Encrypts the secrets a client stores (Olm account, sessions, …) under the user's storage key.
/// </summary>
/// <remarks>
/// The blob key is HKDF-SHA-256 of the storage key (salt and info fixed to this use). Each blob is
/// <c>"SAR" ‖ version(1) ‖ nonce(24) ‖ XChaCha20-Poly1305 ciphertext ‖ tag(16)</c> with a fresh random nonce;
/// the header and the caller's <c>context</c> are authenticated as associated data, so a blob stored for
/// one row (say <c>session:84099724068:1</c>) does not decrypt as another. HKDF does not stretch: the storage
/// key should be a high-entropy secret, not a short password. Thread-safe.
/// </remarks>
public sealed class AtRestCipher : IDisposable
{
    /// <summary>The format version this class writes.</summary>
    public const byte CurrentVersion = 1;

    private const int HeaderLength = 4;
    private const int Overhead = HeaderLength + XChaCha20Poly1305.NonceSize + XChaCha20Poly1305.TagSize;

    private static ReadOnlySpan<byte> Magic => "SAR"u8;
    private static ReadOnlySpan<byte> KdfSalt => "self.crypto.at-rest"u8;
    private static ReadOnlySpan<byte> KdfInfo => "self.crypto.at-rest.v1 xchacha20-poly1305"u8;

    private readonly byte[] _key = new byte[XChaCha20Poly1305.KeySize];
    private bool _disposed;

    /// <summary>Derives the blob key from the raw bytes of the storage key.</summary>
    /// <exception cref="ArgumentException">The storage key is empty.</exception>
    public AtRestCipher(ReadOnlySpan<byte> storageKey)
    {
        if (storageKey.IsEmpty)
        {
            throw new ArgumentException("The storage key must not be empty.", nameof(storageKey));
        }

        HKDF.DeriveKey(HashAlgorithmName.SHA256, storageKey, _key, KdfSalt, KdfInfo);
    }

    /// <summary>Derives the blob key from a storage key string (its UTF-8 bytes), as the SDK options carry it.</summary>
    public static AtRestCipher FromStorageKey(string storageKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(storageKey);
        var bytes = Encoding.UTF8.GetBytes(storageKey);
        try
        {
            return new AtRestCipher(bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Encrypts one blob. <paramref name="context"/> (e.g. the row's key) must be given again to decrypt.</summary>
    public byte[] Encrypt(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> context = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var blob = new byte[plaintext.Length + Overhead];
        Magic.CopyTo(blob);
        blob[3] = CurrentVersion;
        var nonce = blob.AsSpan(HeaderLength, XChaCha20Poly1305.NonceSize);
        SecureRandom.Fill(nonce);
        var associated = AssociatedData(blob.AsSpan(0, HeaderLength), context);
        XChaCha20Poly1305.Encrypt(blob.AsSpan(HeaderLength + XChaCha20Poly1305.NonceSize), plaintext, nonce, _key, associated);
        return blob;
    }

    /// <summary>Decrypts a blob written by <see cref="Encrypt"/> with the same storage key and context.</summary>
    /// <exception cref="AtRestException"><c>at_rest_bad_format</c>, <c>at_rest_unsupported_version</c> or
    /// <c>at_rest_decryption_failed</c> (wrong storage key, wrong context, or altered bytes).</exception>
    public byte[] Decrypt(ReadOnlySpan<byte> blob, ReadOnlySpan<byte> context = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (blob.Length < Overhead || !blob[..3].SequenceEqual(Magic))
        {
            throw new AtRestException(CryptoErrorCodes.AtRestBadFormat, "The stored blob is not in the at-rest format.");
        }

        if (blob[3] != CurrentVersion)
        {
            throw new AtRestException(
                CryptoErrorCodes.AtRestUnsupportedVersion,
                $"The stored blob has at-rest format version {blob[3]}; this build reads version {CurrentVersion}.");
        }

        var nonce = blob.Slice(HeaderLength, XChaCha20Poly1305.NonceSize);
        var ciphertext = blob[(HeaderLength + XChaCha20Poly1305.NonceSize)..];
        var plaintext = new byte[ciphertext.Length - XChaCha20Poly1305.TagSize];
        try
        {
            XChaCha20Poly1305.Decrypt(plaintext, ciphertext, nonce, _key, AssociatedData(blob[..HeaderLength], context));
        }
        catch (CryptographicException)
        {
            throw new AtRestException(
                CryptoErrorCodes.AtRestDecryptionFailed,
                "The stored blob did not decrypt: wrong storage key, wrong context, or altered bytes.");
        }

        return plaintext;
    }

    /// <summary>Wipes the derived key.</summary>
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_key);
        _disposed = true;
    }

    private static byte[] AssociatedData(ReadOnlySpan<byte> header, ReadOnlySpan<byte> context)
    {
        var associated = new byte[header.Length + context.Length];
        header.CopyTo(associated);
        context.CopyTo(associated.AsSpan(header.Length));
        return associated;
    }
}
