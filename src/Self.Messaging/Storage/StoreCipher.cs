using System.Text;
using Self.Crypto.AtRest;

namespace Self.Messaging;

/// <summary>The store's view of <see cref="AtRestCipher"/>: one place that binds each blob to its row.</summary>
internal sealed class StoreCipher : IDisposable
{
    private readonly AtRestCipher _cipher;

    public StoreCipher(string storageKey)
    {
        _cipher = AtRestCipher.FromStorageKey(storageKey);
    }

    public byte[] Encrypt(ReadOnlySpan<byte> plaintext, string context) => _cipher.Encrypt(plaintext, Encoding.UTF8.GetBytes(context));

    public byte[] Decrypt(byte[] blob, string context)
    {
        try
        {
            return _cipher.Decrypt(blob, Encoding.UTF8.GetBytes(context));
        }
        catch (AtRestException ex)
        {
            throw new StoreCipherException(ex.Message, ex);
        }
    }

    public void Dispose() => _cipher.Dispose();
}

/// <summary>A blob did not decrypt (wrong key, wrong row, damaged).</summary>
internal sealed class StoreCipherException(string message, Exception inner) : Exception(message, inner);
