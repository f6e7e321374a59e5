using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using Geralt;
using Self.Crypto.Internal;
using Self.Protocol.Encoding;
using Self.Protocol.Keys;
using Self.Crypto.Keys;

namespace Self.Crypto.Olm;

/// <summary>
/// A device's Olm account: its identity keys and its one-time keys. The Ed25519 key is the device's
/// signing key (made from its seed); the Curve25519 identity key is derived from it exactly as libsodium's
/// <c>crypto_sign_ed25519_*_to_curve25519</c> does, so peers learn it from the device's key history.
/// Byte-compatible with libolm 3: one-time key ids, message formats and the session handshake match.
/// </summary>
/// <remarks>
/// Thread-safe. The account changes when one-time keys are generated, published or used; persist it with
/// <see cref="Export"/> after each change (encrypted, e.g. with <see cref="AtRest.AtRestCipher"/>).
/// </remarks>
public sealed class OlmAccount
{
    /// <summary>How many one-time keys a device publishes at a time.</summary>
    public const int OneTimeKeyBatchSize = 100;

    /// <summary>Below this many unused one-time keys, <see cref="NeedsReplenishment"/> is true.</summary>
    public const int ReplenishThreshold = 10;

    /// <summary>
    /// The most one-time keys the account keeps; generating more drops the oldest. Larger than libolm's 100 so
    /// that a new batch of 100 never pushes out keys that are still published.
    /// </summary>
    public const int MaxOneTimeKeys = 200;

    private const int ExportVersion = 1;
    private static ReadOnlySpan<byte> ExportMagic => "SOLA"u8;

    private readonly Lock _gate = new();
    private readonly byte[] _seed;
    private readonly byte[] _ed25519Public;
    private readonly byte[] _ed25519Private;
    private readonly byte[] _curve25519Public;
    private readonly byte[] _curve25519Private;

    // Oldest first; ids increase.
    private readonly List<OneTimeKeyPair> _oneTimeKeys = [];
    private uint _lastOneTimeKeyId;

    private OlmAccount(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != Ed25519.SeedSize)
        {
            throw new ArgumentException($"An Ed25519 seed is {Ed25519.SeedSize} bytes.", nameof(seed));
        }

        _seed = seed.ToArray();
        _ed25519Public = new byte[Ed25519.PublicKeySize];
        _ed25519Private = new byte[Ed25519.PrivateKeySize];
        Ed25519.GenerateKeyPair(_ed25519Public, _ed25519Private, _seed);
        _curve25519Public = Curve25519Conversion.PublicKeyFromEd25519(_ed25519Public);
        _curve25519Private = Curve25519Conversion.PrivateKeyFromEd25519Seed(_seed);
        IdentityKeys = new OlmIdentityKeys(Base64Codec.EncodeStandard(_curve25519Public), Base64Codec.EncodeStandard(_ed25519Public));
    }

    /// <summary>The identity keys, as libolm's <c>olm_account_identity_keys</c> reports them.</summary>
    public OlmIdentityKeys IdentityKeys { get; }

    /// <summary>The Curve25519 identity key (32 bytes).</summary>
    public ReadOnlySpan<byte> Curve25519PublicKey => _curve25519Public;

    /// <summary>The Ed25519 public key (32 bytes): the device's signing key.</summary>
    public ReadOnlySpan<byte> Ed25519PublicKey => _ed25519Public;

    /// <summary>How many one-time keys the account holds that no inbound session has used yet.</summary>
    public int UnusedOneTimeKeyCount
    {
        get
        {
            lock (_gate)
            {
                return _oneTimeKeys.Count;
            }
        }
    }

    /// <summary>How many one-time keys were generated but not yet marked as published.</summary>
    public int UnpublishedOneTimeKeyCount
    {
        get
        {
            lock (_gate)
            {
                return _oneTimeKeys.Count(k => !k.Published);
            }
        }
    }

    /// <summary>
    /// True when fewer than <see cref="ReplenishThreshold"/> unused one-time keys remain. This is the account's
    /// own view; keys handed out by the server but never used still count here, so prefer the server's count
    /// when it is known.
    /// </summary>
    public bool NeedsReplenishment => UnusedOneTimeKeyCount < ReplenishThreshold;

    /// <summary>Creates the account of a device from its 32-byte Ed25519 seed.</summary>
    public static OlmAccount FromSeed(ReadOnlySpan<byte> ed25519Seed) => new(ed25519Seed);

    /// <summary>Creates the account of a device from its signing key.</summary>
    public static OlmAccount FromSigningKey(SigningKey deviceKey)
    {
        ArgumentNullException.ThrowIfNull(deviceKey);
        var seed = deviceKey.Seed;
        try
        {
            return new OlmAccount(seed);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    /// <summary>Signs <paramref name="message"/> with the account's Ed25519 key (64-byte signature).</summary>
    public byte[] Sign(ReadOnlySpan<byte> message)
    {
        var signature = new byte[Ed25519.SignatureSize];
        Ed25519.Sign(signature, message, _ed25519Private);
        return signature;
    }

    /// <summary>
    /// Generates <paramref name="count"/> new one-time keys with libolm's ids (a counter that starts at 1).
    /// They stay unpublished until <see cref="MarkKeysAsPublished"/>.
    /// </summary>
    public void GenerateOneTimeKeys(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxOneTimeKeys);
        lock (_gate)
        {
            for (var i = 0; i < count; i++)
            {
                var (publicKey, privateKey) = OlmPrimitives.GenerateCurve25519();
                _oneTimeKeys.Add(new OneTimeKeyPair(++_lastOneTimeKeyId, publicKey, privateKey));
            }

            var excess = _oneTimeKeys.Count - MaxOneTimeKeys;
            if (excess > 0)
            {
                foreach (var dropped in _oneTimeKeys.Take(excess))
                {
                    CryptographicOperations.ZeroMemory(dropped.PrivateKey);
                }

                _oneTimeKeys.RemoveRange(0, excess);
            }
        }
    }

    /// <summary>The one-time keys not yet published, newest first (the order libolm lists them in).</summary>
    public IReadOnlyList<OneTimeKey> GetUnpublishedOneTimeKeys()
    {
        lock (_gate)
        {
            var keys = new List<OneTimeKey>();
            for (var i = _oneTimeKeys.Count - 1; i >= 0; i--)
            {
                var key = _oneTimeKeys[i];
                if (!key.Published)
                {
                    keys.Add(new OneTimeKey(EncodeKeyId(key.Id), Base64Codec.EncodeStandard(key.PublicKey)));
                }
            }

            return keys;
        }
    }

    /// <summary>The unpublished one-time keys as the pre-keys POST body: <c>[{"id":"…","key":"…"},…]</c>.</summary>
    public byte[] GetUnpublishedOneTimeKeysJson()
    {
        var keys = GetUnpublishedOneTimeKeys();
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartArray();
            foreach (var key in keys)
            {
                writer.WriteStartObject();
                writer.WriteString("id"u8, key.Id);
                writer.WriteString("key"u8, key.Key);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return buffer.ToArray();
    }

    /// <summary>Marks every one-time key as published; returns how many were newly marked.</summary>
    public int MarkKeysAsPublished()
    {
        lock (_gate)
        {
            var marked = 0;
            foreach (var key in _oneTimeKeys)
            {
                if (!key.Published)
                {
                    key.Published = true;
                    marked++;
                }
            }

            return marked;
        }
    }

    /// <summary>
    /// Forgets the one-time key that <paramref name="session"/> was created from, so a replay of the pre-key
    /// message cannot start another session. Returns false if the account no longer holds that key.
    /// </summary>
    public bool RemoveOneTimeKeys(OlmSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var oneTimeKey = session.BobOneTimeKey;
        lock (_gate)
        {
            var index = 0;
            while (index < _oneTimeKeys.Count && !CryptographicOperations.FixedTimeEquals(_oneTimeKeys[index].PublicKey, oneTimeKey))
            {
                index++;
            }

            if (index == _oneTimeKeys.Count)
            {
                return false;
            }

            CryptographicOperations.ZeroMemory(_oneTimeKeys[index].PrivateKey);
            _oneTimeKeys.RemoveAt(index);
            return true;
        }
    }

    /// <summary>
    /// The account in this library's own binary format (seed, one-time keys, key counter). The bytes hold
    /// secrets: encrypt them before storing them.
    /// </summary>
    public byte[] Export()
    {
        lock (_gate)
        {
            var writer = new StateWriter();
            writer.Bytes(ExportMagic);
            writer.Byte(ExportVersion);
            writer.Bytes(_seed);
            writer.UInt32(_lastOneTimeKeyId);
            writer.UInt32((uint)_oneTimeKeys.Count);
            foreach (var key in _oneTimeKeys)
            {
                writer.UInt32(key.Id);
                writer.Byte(key.Published ? (byte)1 : (byte)0);
                writer.Bytes(key.PublicKey);
                writer.Bytes(key.PrivateKey);
            }

            return writer.ToArray();
        }
    }

    /// <summary>Restores an account written by <see cref="Export"/>.</summary>
    /// <exception cref="OlmException"><c>bad_export</c> when the bytes are not a valid export.</exception>
    public static OlmAccount Import(ReadOnlySpan<byte> exported)
    {
        var reader = new StateReader(exported);
        if (!reader.Bytes(4).SequenceEqual(ExportMagic))
        {
            throw StateReader.Bad("not an exported Olm account");
        }

        var version = reader.Byte();
        if (version != ExportVersion)
        {
            throw StateReader.Bad($"unknown account export version {version}");
        }

        var account = new OlmAccount(reader.Bytes(Ed25519.SeedSize));
        account._lastOneTimeKeyId = reader.UInt32();
        var count = reader.UInt32();
        if (count > MaxOneTimeKeys)
        {
            throw StateReader.Bad("too many one-time keys");
        }

        for (var i = 0; i < count; i++)
        {
            var id = reader.UInt32();
            var published = reader.Byte() switch
            {
                0 => false,
                1 => true,
                _ => throw StateReader.Bad("bad published flag"),
            };
            var publicKey = reader.Bytes(OlmPrimitives.KeyLength).ToArray();
            var privateKey = reader.Bytes(OlmPrimitives.KeyLength).ToArray();
            account._oneTimeKeys.Add(new OneTimeKeyPair(id, publicKey, privateKey) { Published = published });
        }

        reader.End();
        return account;
    }

    /// <summary>
    /// Rebuilds an account from a libolm account pickle (as the official Self SDKs store them), to keep the
    /// one-time keys a device already published. libolm keeps the expanded Ed25519 key, not the seed, so the
    /// seed is passed in and checked against the pickled keys.
    /// </summary>
    /// <exception cref="OlmException"><c>bad_pickle</c> when the pickle or its key is wrong, or when the seed
    /// does not give the pickled identity keys.</exception>
    public static OlmAccount FromLibolmPickle(string pickle, ReadOnlySpan<byte> pickleKey, ReadOnlySpan<byte> ed25519Seed)
    {
        var pickled = LibolmPickle.ReadAccount(pickle, pickleKey);
        var account = new OlmAccount(ed25519Seed);
        if (!pickled.Ed25519Public.AsSpan().SequenceEqual(account._ed25519Public)
            || !pickled.Curve25519Public.AsSpan().SequenceEqual(account._curve25519Public))
        {
            throw new OlmException(CryptoErrorCodes.BadPickle, "The pickled identity keys are not the keys of this seed.");
        }

        foreach (var key in pickled.OneTimeKeys.OrderBy(k => k.Id))
        {
            account._oneTimeKeys.Add(new OneTimeKeyPair(key.Id, key.PublicKey, key.PrivateKey) { Published = key.Published });
        }

        account._lastOneTimeKeyId = pickled.NextOneTimeKeyId;
        return account;
    }

    /// <summary>libolm's key id: the key number as 4 big-endian bytes in standard base64 (100 → <c>AAAAZA</c>).</summary>
    public static string EncodeKeyId(uint id)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, id);
        return Base64Codec.EncodeStandard(bytes);
    }

    internal ReadOnlySpan<byte> Curve25519PrivateKey => _curve25519Private;

    /// <summary>The private half of the one-time key with this public half, or null.</summary>
    internal byte[]? FindOneTimeKeyPrivate(ReadOnlySpan<byte> publicKey)
    {
        lock (_gate)
        {
            foreach (var key in _oneTimeKeys)
            {
                if (CryptographicOperations.FixedTimeEquals(key.PublicKey, publicKey))
                {
                    return (byte[])key.PrivateKey.Clone();
                }
            }

            return null;
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"OlmAccount {IdentityKeys.Curve25519}";

    private sealed class OneTimeKeyPair(uint id, byte[] publicKey, byte[] privateKey)
    {
        public uint Id { get; } = id;

        public byte[] PublicKey { get; } = publicKey;

        public byte[] PrivateKey { get; } = privateKey;

        public bool Published { get; set; }
    }
}
