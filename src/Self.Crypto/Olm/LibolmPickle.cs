using System.Buffers.Binary;
using System.Security.Cryptography;
using Self.Protocol.Encoding;

namespace Self.Crypto.Olm;

/// <summary>
/// Reads libolm 3 pickles (base64 of AES-256-CBC + 8-byte HMAC under keys from HKDF "Pickle" of the pickle
/// key), so state stored by libolm-based SDKs can be carried over. Read-only: we write our own format.
/// </summary>
internal static class LibolmPickle
{
    private static ReadOnlySpan<byte> PickleInfo => "Pickle"u8;

    internal sealed record PickledOneTimeKey(uint Id, bool Published, byte[] PublicKey, byte[] PrivateKey);

    internal sealed record PickledAccount(
        byte[] Ed25519Public,
        byte[] Curve25519Public,
        byte[] Curve25519Private,
        IReadOnlyList<PickledOneTimeKey> OneTimeKeys,
        uint NextOneTimeKeyId);

    internal sealed record PickledChain(byte[] RatchetPublic, byte[]? RatchetPrivate, byte[] Key, uint Index);

    internal sealed record PickledSession(
        bool ReceivedMessage,
        byte[] AliceIdentityKey,
        byte[] AliceBaseKey,
        byte[] BobOneTimeKey,
        byte[] RootKey,
        IReadOnlyList<PickledChain> SenderChains,
        IReadOnlyList<PickledChain> ReceiverChains,
        IReadOnlyList<PickledChain> SkippedMessageKeys);

    public static PickledAccount ReadAccount(string pickle, ReadOnlySpan<byte> pickleKey)
    {
        var reader = new Reader(Decrypt(pickle, pickleKey));
        var version = reader.UInt32();
        if (version is not (2 or 3 or 4))
        {
            throw Bad($"account pickle version {version} is not supported");
        }

        var ed25519Public = reader.Bytes(32);
        reader.Bytes(64);
        var curvePublic = reader.Bytes(32);
        var curvePrivate = reader.Bytes(32);
        var count = reader.UInt32();
        var keys = new List<PickledOneTimeKey>();
        for (var i = 0; i < count; i++)
        {
            keys.Add(ReadOneTimeKey(ref reader));
        }

        // Fallback keys are not part of the Self protocol; they are read past and dropped.
        if (version == 3)
        {
            ReadOneTimeKey(ref reader);
            ReadOneTimeKey(ref reader);
        }
        else if (version == 4)
        {
            var fallbacks = reader.Byte();
            if (fallbacks > 2)
            {
                throw Bad("too many fallback keys");
            }

            for (var i = 0; i < fallbacks; i++)
            {
                ReadOneTimeKey(ref reader);
            }
        }

        var nextId = reader.UInt32();
        reader.End();
        return new PickledAccount(ed25519Public, curvePublic, curvePrivate, keys, nextId);
    }

    public static PickledSession ReadSession(string pickle, ReadOnlySpan<byte> pickleKey)
    {
        var reader = new Reader(Decrypt(pickle, pickleKey));
        var version = reader.UInt32();
        if (version is not (1 or 0x80000001))
        {
            throw Bad($"session pickle version {version} is not supported");
        }

        var received = reader.Byte() != 0;
        var aliceIdentity = reader.Bytes(32);
        var aliceBase = reader.Bytes(32);
        var bobOneTimeKey = reader.Bytes(32);
        var root = reader.Bytes(32);

        var senders = new List<PickledChain>();
        var count = reader.UInt32();
        for (var i = 0; i < count; i++)
        {
            senders.Add(new PickledChain(reader.Bytes(32), reader.Bytes(32), reader.Bytes(32), reader.UInt32()));
        }

        var receivers = new List<PickledChain>();
        count = reader.UInt32();
        for (var i = 0; i < count; i++)
        {
            receivers.Add(new PickledChain(reader.Bytes(32), null, reader.Bytes(32), reader.UInt32()));
        }

        var skipped = new List<PickledChain>();
        count = reader.UInt32();
        for (var i = 0; i < count; i++)
        {
            skipped.Add(new PickledChain(reader.Bytes(32), null, reader.Bytes(32), reader.UInt32()));
        }

        if (version == 0x80000001)
        {
            reader.UInt32();
        }

        reader.End();
        return new PickledSession(received, aliceIdentity, aliceBase, bobOneTimeKey, root, senders, receivers, skipped);
    }

    private static PickledOneTimeKey ReadOneTimeKey(ref Reader reader) =>
        new(reader.UInt32(), reader.Byte() != 0, reader.Bytes(32), reader.Bytes(32));

    private static byte[] Decrypt(string pickle, ReadOnlySpan<byte> pickleKey)
    {
        if (!Base64Codec.TryDecode(pickle, out var raw) || raw.Length < OlmPrimitives.MacLength + 16)
        {
            throw Bad("it is not base64 of an encrypted pickle");
        }

        Span<byte> keys = stackalloc byte[80];
        Span<byte> mac = stackalloc byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, pickleKey, keys, [], PickleInfo);
        try
        {
            var ciphertext = raw.AsSpan(0, raw.Length - OlmPrimitives.MacLength);
            HMACSHA256.HashData(keys[32..64], ciphertext, mac);
            if (!CryptographicOperations.FixedTimeEquals(mac[..OlmPrimitives.MacLength], raw.AsSpan(ciphertext.Length)))
            {
                throw Bad("the pickle key is wrong or the pickle was altered");
            }

            using var aes = Aes.Create();
            aes.SetKey(keys[..32]);
            try
            {
                return aes.DecryptCbc(ciphertext, keys[64..80], PaddingMode.PKCS7);
            }
            catch (CryptographicException)
            {
                throw Bad("the decrypted pickle has bad padding");
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keys);
        }
    }

    private static OlmException Bad(string reason) =>
        new(CryptoErrorCodes.BadPickle, $"The libolm pickle cannot be read: {reason}.");

    private struct Reader(byte[] input)
    {
        private int _pos;

        public byte Byte() => Take(1)[0];

        public uint UInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

        public byte[] Bytes(int count) => Take(count).ToArray();

        public readonly void End()
        {
            if (_pos != input.Length)
            {
                throw Bad("it has trailing bytes");
            }
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (input.Length - _pos < count)
            {
                throw Bad("it is truncated");
            }

            var slice = input.AsSpan(_pos, count);
            _pos += count;
            return slice;
        }
    }
}
