using Self.Crypto.AtRest;

namespace Self.Crypto.Tests.AtRest;

public sealed class AtRestCipherTests
{
    [Fact]
    public void EncryptDecrypt_RoundTrip_WithAndWithoutContext()
    {
        using var cipher = AtRestCipher.FromStorageKey("a storage key");
        var blob = cipher.Encrypt("secret"u8, "session:84099724068:1"u8);

        Assert.Equal("secret"u8.ToArray(), cipher.Decrypt(blob, "session:84099724068:1"u8));
        Assert.Equal([], cipher.Decrypt(cipher.Encrypt([])));
        Assert.Equal("S"u8[0], blob[0]);
        Assert.Equal(AtRestCipher.CurrentVersion, blob[3]);
        Assert.Equal(6 + 4 + 24 + 16, blob.Length);
    }

    [Fact]
    public void Encrypt_SamePlaintextTwice_GivesDifferentBlobs()
    {
        using var cipher = AtRestCipher.FromStorageKey("a storage key");
        Assert.NotEqual(cipher.Encrypt("same"u8), cipher.Encrypt("same"u8));
    }

    [Fact]
    public void Decrypt_SameStorageKeyInANewInstance_Works()
    {
        byte[] blob;
        using (var writer = AtRestCipher.FromStorageKey("conformance-test-storage-key"))
        {
            blob = writer.Encrypt("persisted"u8);
        }

        using var reader = new AtRestCipher("conformance-test-storage-key"u8);
        Assert.Equal("persisted"u8.ToArray(), reader.Decrypt(blob));
    }

    [Fact]
    public void Decrypt_WrongStorageKey_ThrowsDecryptionFailed()
    {
        using var right = AtRestCipher.FromStorageKey("right");
        using var wrong = AtRestCipher.FromStorageKey("wrong");
        var e = Assert.Throws<AtRestException>(() => wrong.Decrypt(right.Encrypt("secret"u8)));
        Assert.Equal(CryptoErrorCodes.AtRestDecryptionFailed, e.ErrorCode);
    }

    [Fact]
    public void Decrypt_WrongContext_ThrowsDecryptionFailed()
    {
        using var cipher = AtRestCipher.FromStorageKey("key");
        var blob = cipher.Encrypt("secret"u8, "row-1"u8);
        Assert.Equal(CryptoErrorCodes.AtRestDecryptionFailed, Assert.Throws<AtRestException>(() => cipher.Decrypt(blob, "row-2"u8)).ErrorCode);
        Assert.Equal(CryptoErrorCodes.AtRestDecryptionFailed, Assert.Throws<AtRestException>(() => cipher.Decrypt(blob)).ErrorCode);
    }

    [Fact]
    public void Decrypt_AnyFlippedBit_Throws()
    {
        using var cipher = AtRestCipher.FromStorageKey("key");
        var blob = cipher.Encrypt("secret"u8);
        for (var bit = 0; bit < blob.Length * 8; bit++)
        {
            var tampered = (byte[])blob.Clone();
            tampered[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.Throws<AtRestException>(() => cipher.Decrypt(tampered));
        }
    }

    [Fact]
    public void Decrypt_TruncatedOrForeign_ThrowsBadFormat()
    {
        using var cipher = AtRestCipher.FromStorageKey("key");
        var blob = cipher.Encrypt("secret"u8);
        Assert.Equal(CryptoErrorCodes.AtRestBadFormat, Assert.Throws<AtRestException>(() => cipher.Decrypt(blob.AsSpan(0, 43))).ErrorCode);
        Assert.Equal(CryptoErrorCodes.AtRestBadFormat, Assert.Throws<AtRestException>(() => cipher.Decrypt(new byte[100])).ErrorCode);
        Assert.Equal(CryptoErrorCodes.AtRestDecryptionFailed, Assert.Throws<AtRestException>(() => cipher.Decrypt(blob.AsSpan(0, blob.Length - 1))).ErrorCode);
    }

    [Fact]
    public void Decrypt_UnknownVersion_ThrowsUnsupportedVersion()
    {
        using var cipher = AtRestCipher.FromStorageKey("key");
        var blob = cipher.Encrypt("secret"u8);
        blob[3] = 2;
        Assert.Equal(CryptoErrorCodes.AtRestUnsupportedVersion, Assert.Throws<AtRestException>(() => cipher.Decrypt(blob)).ErrorCode);
    }

    [Fact]
    public void Constructor_EmptyKey_Throws()
    {
        Assert.Throws<ArgumentException>(() => new AtRestCipher([]));
        Assert.Throws<ArgumentException>(() => AtRestCipher.FromStorageKey(""));
    }

    [Fact]
    public void Dispose_ThenUse_ThrowsObjectDisposed()
    {
        var cipher = AtRestCipher.FromStorageKey("key");
        cipher.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cipher.Encrypt("x"u8));
    }
}
