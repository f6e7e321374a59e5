using System.Security.Cryptography;
using Self.Protocol.Encoding;

namespace Self.Crypto.Olm;

/// <summary>
/// One Olm v1 session between two devices: the libolm 3 double ratchet (Curve25519, HKDF-SHA-256,
/// AES-256-CBC, HMAC-SHA-256 truncated to 8 bytes) with libolm's message encodings, so either side may be
/// libolm. Messages are pre-key messages (type 0) until the first message from the other side has been
/// decrypted, then normal messages (type 1).
/// </summary>
/// <remarks>
/// Out-of-order delivery is handled within libolm's bounds: up to <see cref="MaxSkippedMessageKeys"/> keys of
/// skipped messages are kept, a message may skip at most <see cref="MaxMessageGap"/> keys of its chain, and
/// the newest <see cref="MaxReceiverChains"/> receiving chains are kept. A failed <see cref="Decrypt(OlmMessage)"/> leaves
/// the session unchanged. Thread-safe; persist it with <see cref="Export"/> after every encrypt or decrypt.
/// </remarks>
public sealed partial class OlmSession
{
    /// <summary>How many keys of skipped (not yet received) messages the session keeps, newest first.</summary>
    public const int MaxSkippedMessageKeys = 40;

    /// <summary>The largest jump ahead in one chain that a message may make.</summary>
    public const int MaxMessageGap = 2000;

    /// <summary>How many receiving chains (ratchet keys of the other side) the session keeps.</summary>
    public const int MaxReceiverChains = 5;

    private const int ExportVersion = 1;
    private static ReadOnlySpan<byte> ExportMagic => "SOLS"u8;

    private readonly Lock _gate = new();
    private readonly byte[] _aliceIdentityKey;
    private readonly byte[] _aliceBaseKey;
    private readonly byte[] _bobOneTimeKey;
    private readonly List<ReceiverChain> _receiverChains = [];
    private readonly List<SkippedKey> _skippedKeys = [];
    private byte[] _rootKey;
    private SenderChain? _senderChain;
    private bool _receivedMessage;

    private OlmSession(byte[] aliceIdentityKey, byte[] aliceBaseKey, byte[] bobOneTimeKey, byte[] rootKey)
    {
        _aliceIdentityKey = aliceIdentityKey;
        _aliceBaseKey = aliceBaseKey;
        _bobOneTimeKey = bobOneTimeKey;
        _rootKey = rootKey;
        SessionId = OlmPrimitives.SessionId(aliceIdentityKey, aliceBaseKey, bobOneTimeKey);
    }

    /// <summary>
    /// libolm's session id: SHA-256 of the initiator's identity key, its base key and the one-time key used,
    /// standard base64 without padding. Both sides compute the same id.
    /// </summary>
    public string SessionId { get; }

    /// <summary>True once a message from the other side has been decrypted; from then on messages are type 1.</summary>
    public bool HasReceivedMessage
    {
        get
        {
            lock (_gate)
            {
                return _receivedMessage;
            }
        }
    }

    /// <summary>The type the next <see cref="Encrypt"/> will produce.</summary>
    public OlmMessageType NextMessageType => HasReceivedMessage ? OlmMessageType.Normal : OlmMessageType.PreKey;

    /// <summary>The one-time key this session was started with (what the receiver's account must hold).</summary>
    internal ReadOnlySpan<byte> BobOneTimeKey => _bobOneTimeKey;

    /// <summary>
    /// Starts a session to a device from its Curve25519 identity key (e.g. from
    /// <see cref="Keys.Curve25519Conversion.IdentityKeyFromEd25519"/>) and one of its published one-time keys.
    /// </summary>
    /// <exception cref="OlmException"><c>invalid_base64</c> or <c>bad_key</c> for unusable keys.</exception>
    public static OlmSession CreateOutbound(OlmAccount account, string theirIdentityKey, string theirOneTimeKey) =>
        CreateOutbound(account, DecodeKey(theirIdentityKey, "identity key"), DecodeKey(theirOneTimeKey, "one-time key"));

    /// <summary>
    /// Starts a session to a device from its raw 32-byte Curve25519 identity key and one-time key.
    /// </summary>
    /// <exception cref="OlmException"><c>bad_key</c> for unusable keys.</exception>
    public static OlmSession CreateOutbound(OlmAccount account, ReadOnlySpan<byte> theirIdentityKey, ReadOnlySpan<byte> theirOneTimeKey)
    {
        ArgumentNullException.ThrowIfNull(account);
        if (theirIdentityKey.Length != OlmPrimitives.KeyLength || theirOneTimeKey.Length != OlmPrimitives.KeyLength)
        {
            throw new OlmException(CryptoErrorCodes.BadKey, "Curve25519 keys are 32 bytes.");
        }

        var (basePublic, basePrivate) = OlmPrimitives.GenerateCurve25519();
        var (ratchetPublic, ratchetPrivate) = OlmPrimitives.GenerateCurve25519();
        Span<byte> secret = stackalloc byte[3 * OlmPrimitives.KeyLength];
        var rootKey = new byte[32];
        var chainKey = new byte[32];
        try
        {
            OlmPrimitives.SharedSecret(secret[..32], account.Curve25519PrivateKey, theirOneTimeKey);
            OlmPrimitives.SharedSecret(secret[32..64], basePrivate, theirIdentityKey);
            OlmPrimitives.SharedSecret(secret[64..], basePrivate, theirOneTimeKey);
            OlmPrimitives.DeriveRootAndChain(secret, rootKey, chainKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
            CryptographicOperations.ZeroMemory(basePrivate);
        }

        return new OlmSession(account.Curve25519PublicKey.ToArray(), basePublic, theirOneTimeKey.ToArray(), rootKey)
        {
            _senderChain = new SenderChain(ratchetPublic, ratchetPrivate, chainKey, 0),
        };
    }

    /// <summary>
    /// Creates the receiving side of a session from a pre-key message (type 0) addressed to
    /// <paramref name="account"/>. This does not decrypt the message: call <see cref="Decrypt(OlmMessage)"/>
    /// next, and only when that succeeds call <see cref="OlmAccount.RemoveOneTimeKeys"/> and keep the session.
    /// </summary>
    /// <param name="account">Our account; it must still hold the one-time key the message names.</param>
    /// <param name="preKeyMessage">The message body (base64).</param>
    /// <param name="theirIdentityKey">When given, the sender's Curve25519 identity key (base64) the message must carry.</param>
    /// <exception cref="OlmException"><c>invalid_base64</c>, <c>bad_message_format</c>, <c>bad_message_version</c>,
    /// <c>identity_key_mismatch</c>, or <c>unknown_one_time_key</c> (the key was used already or never ours).</exception>
    public static OlmSession CreateInbound(OlmAccount account, string preKeyMessage, string? theirIdentityKey = null)
    {
        ArgumentNullException.ThrowIfNull(account);
        var message = OlmWireFormat.DecodePreKey(DecodeBody(preKeyMessage));
        if (theirIdentityKey is not null
            && !DecodeKey(theirIdentityKey, "identity key").AsSpan().SequenceEqual(message.IdentityKey.Span))
        {
            throw new OlmException(CryptoErrorCodes.IdentityKeyMismatch, "The pre-key message comes from a different identity key.");
        }

        var inner = OlmWireFormat.DecodeNormal(message.Message);
        var oneTimePrivate = account.FindOneTimeKeyPrivate(message.OneTimeKey.Span)
            ?? throw new OlmException(
                CryptoErrorCodes.UnknownOneTimeKey,
                "The pre-key message names a one-time key this account does not hold (already used, or not ours).");

        Span<byte> secret = stackalloc byte[3 * OlmPrimitives.KeyLength];
        var rootKey = new byte[32];
        var chainKey = new byte[32];
        try
        {
            OlmPrimitives.SharedSecret(secret[..32], oneTimePrivate, message.IdentityKey.Span);
            OlmPrimitives.SharedSecret(secret[32..64], account.Curve25519PrivateKey, message.BaseKey.Span);
            OlmPrimitives.SharedSecret(secret[64..], oneTimePrivate, message.BaseKey.Span);
            OlmPrimitives.DeriveRootAndChain(secret, rootKey, chainKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
            CryptographicOperations.ZeroMemory(oneTimePrivate);
        }

        var session = new OlmSession(message.IdentityKey.ToArray(), message.BaseKey.ToArray(), message.OneTimeKey.ToArray(), rootKey);
        session._receiverChains.Add(new ReceiverChain(inner.RatchetKey.ToArray(), chainKey, 0));
        return session;
    }

    /// <summary>
    /// Whether a pre-key message belongs to this session (same initiator identity key, base key and one-time
    /// key), i.e. whether to decrypt it here rather than create a new inbound session.
    /// </summary>
    /// <param name="preKeyMessage">The message body (base64).</param>
    /// <param name="theirIdentityKey">When given, the sender identity key (base64) that must also match.</param>
    /// <exception cref="OlmException"><c>invalid_base64</c> when the body is not base64.</exception>
    public bool MatchesInboundSession(string preKeyMessage, string? theirIdentityKey = null)
    {
        var bytes = DecodeBody(preKeyMessage);
        PreKeyMessage message;
        try
        {
            message = OlmWireFormat.DecodePreKey(bytes);
        }
        catch (OlmException)
        {
            return false;
        }

        var same = message.IdentityKey.Span.SequenceEqual(_aliceIdentityKey)
            && message.BaseKey.Span.SequenceEqual(_aliceBaseKey)
            && message.OneTimeKey.Span.SequenceEqual(_bobOneTimeKey);
        if (same && theirIdentityKey is not null)
        {
            same = Base64Codec.TryDecode(theirIdentityKey, out var key) && key.AsSpan().SequenceEqual(_aliceIdentityKey);
        }

        return same;
    }

    /// <summary>Encrypts one message; the session moves on (persist it).</summary>
    /// <exception cref="OlmException"><c>bad_key</c> if the other side's ratchet key is not a usable point.</exception>
    public OlmMessage Encrypt(ReadOnlySpan<byte> plaintext)
    {
        lock (_gate)
        {
            if (_senderChain is null)
            {
                // First message since the other side's last ratchet step: a new ratchet key of ours.
                var (ratchetPublic, ratchetPrivate) = OlmPrimitives.GenerateCurve25519();
                var newRoot = new byte[32];
                var chainKey = new byte[32];
                OlmPrimitives.AdvanceRoot(_rootKey, ratchetPrivate, _receiverChains[0].RatchetPublic, newRoot, chainKey);
                CryptographicOperations.ZeroMemory(_rootKey);
                _rootKey = newRoot;
                _senderChain = new SenderChain(ratchetPublic, ratchetPrivate, chainKey, 0);
            }

            var sender = _senderChain;
            Span<byte> messageKey = stackalloc byte[32];
            OlmPrimitives.MessageKey(sender.ChainKey, messageKey);
            var counter = sender.Index;
            OlmPrimitives.AdvanceChainKey(sender.ChainKey, sender.ChainKey);
            sender.Index++;

            var normal = OlmPrimitives.EncryptNormalMessage(messageKey, sender.RatchetPublic, counter, plaintext);
            CryptographicOperations.ZeroMemory(messageKey);
            if (_receivedMessage)
            {
                return new OlmMessage(OlmMessageType.Normal, Base64Codec.EncodeStandard(normal));
            }

            var preKey = OlmWireFormat.EncodePreKey(_bobOneTimeKey, _aliceBaseKey, _aliceIdentityKey, normal);
            return new OlmMessage(OlmMessageType.PreKey, Base64Codec.EncodeStandard(preKey));
        }
    }

    /// <summary>Decrypts one message of this session.</summary>
    /// <exception cref="OlmException"><c>invalid_base64</c>, <c>bad_message_format</c>, <c>bad_message_version</c>,
    /// <c>bad_message_mac</c>, <c>unknown_message_key</c> (a replay, or too old), <c>message_gap_too_large</c>;
    /// the session is unchanged.</exception>
    public byte[] Decrypt(OlmMessage message) => Decrypt(message.Type, message.Body);

    /// <summary>Decrypts one message of this session, given its type and base64 body.</summary>
    /// <exception cref="OlmException">As <see cref="Decrypt(OlmMessage)"/>.</exception>
    public byte[] Decrypt(OlmMessageType type, string body)
    {
        var bytes = DecodeBody(body);
        ReadOnlyMemory<byte> normal = type switch
        {
            OlmMessageType.PreKey => OlmWireFormat.DecodePreKey(bytes).Message,
            OlmMessageType.Normal => bytes,
            _ => throw new OlmException(CryptoErrorCodes.BadMessageFormat, $"Olm message type {(int)type} is unknown."),
        };
        var message = OlmWireFormat.DecodeNormal(normal);
        lock (_gate)
        {
            var plaintext = DecryptLocked(message);
            _receivedMessage = true;
            return plaintext;
        }
    }

    private byte[] DecryptLocked(NormalMessage message)
    {
        var ratchetKey = message.RatchetKey.Span;
        var counter = message.Counter;
        ReceiverChain? chain = null;
        foreach (var candidate in _receiverChains)
        {
            if (ratchetKey.SequenceEqual(candidate.RatchetPublic))
            {
                chain = candidate;
                break;
            }
        }

        if (chain is null)
        {
            // The other side took a ratchet step: derive the new chain, but commit only if the MAC holds.
            if (_senderChain is null)
            {
                throw new OlmException(
                    CryptoErrorCodes.BadMessageMac,
                    "The message uses a ratchet key the other side could not have chosen yet; it is not for this session.");
            }

            if (counter > MaxMessageGap)
            {
                throw GapTooLarge(counter);
            }

            var newRoot = new byte[32];
            var chainKey = new byte[32];
            OlmPrimitives.AdvanceRoot(_rootKey, _senderChain.RatchetPrivate, ratchetKey, newRoot, chainKey);
            var walk = ChainWalk.Run(chainKey, 0, counter);
            var plaintext = VerifyAndDecrypt(walk.MessageKey, message);

            CryptographicOperations.ZeroMemory(_rootKey);
            _rootKey = newRoot;
            CryptographicOperations.ZeroMemory(_senderChain.RatchetPrivate);
            _senderChain = null;
            _receiverChains.Insert(0, new ReceiverChain(ratchetKey.ToArray(), walk.NextChainKey, counter + 1));
            if (_receiverChains.Count > MaxReceiverChains)
            {
                _receiverChains.RemoveRange(MaxReceiverChains, _receiverChains.Count - MaxReceiverChains);
            }

            StoreSkipped(ratchetKey, walk);
            return plaintext;
        }

        if (counter < chain.Index)
        {
            var index = 0;
            while (index < _skippedKeys.Count
                && !(_skippedKeys[index].Index == counter && ratchetKey.SequenceEqual(_skippedKeys[index].RatchetPublic)))
            {
                index++;
            }

            if (index == _skippedKeys.Count)
            {
                throw new OlmException(
                    CryptoErrorCodes.UnknownMessageKey,
                    $"Message {counter} of this chain was already decrypted or is too old to decrypt.");
            }

            var skipped = _skippedKeys[index];
            var plaintext = VerifyAndDecrypt(skipped.MessageKey, message);
            CryptographicOperations.ZeroMemory(skipped.MessageKey);
            _skippedKeys.RemoveAt(index);
            return plaintext;
        }

        if (counter - chain.Index > MaxMessageGap)
        {
            throw GapTooLarge(counter - chain.Index);
        }

        var step = ChainWalk.Run(chain.ChainKey, chain.Index, counter);
        var result = VerifyAndDecrypt(step.MessageKey, message);
        CryptographicOperations.ZeroMemory(chain.ChainKey);
        chain.ChainKey = step.NextChainKey;
        chain.Index = counter + 1;
        StoreSkipped(ratchetKey, step);
        return result;
    }

    private void StoreSkipped(ReadOnlySpan<byte> ratchetKey, ChainWalk walk)
    {
        foreach (var (index, key) in walk.Skipped)
        {
            _skippedKeys.Insert(0, new SkippedKey(ratchetKey.ToArray(), key, index));
        }

        if (_skippedKeys.Count > MaxSkippedMessageKeys)
        {
            foreach (var dropped in _skippedKeys.Skip(MaxSkippedMessageKeys))
            {
                CryptographicOperations.ZeroMemory(dropped.MessageKey);
            }

            _skippedKeys.RemoveRange(MaxSkippedMessageKeys, _skippedKeys.Count - MaxSkippedMessageKeys);
        }

        CryptographicOperations.ZeroMemory(walk.MessageKey);
    }

    private static byte[] VerifyAndDecrypt(byte[] messageKey, NormalMessage message) =>
        OlmPrimitives.VerifyAndDecrypt(messageKey, message.Authenticated.Span, message.Mac.Span, message.Ciphertext.Span)
        ?? throw new OlmException(
            CryptoErrorCodes.BadMessageMac,
            "The message failed authentication: it was altered, or it is not for this session.");

    private static OlmException GapTooLarge(uint gap) =>
        new(CryptoErrorCodes.MessageGapTooLarge, $"The message is {gap} messages ahead of its chain; at most {MaxMessageGap} are accepted.");

    /// <inheritdoc />
    public override string ToString() => $"OlmSession {SessionId}";

    private static byte[] DecodeBody(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Base64Codec.TryDecode(body, out var bytes)
            ? bytes
            : throw new OlmException(CryptoErrorCodes.InvalidBase64, "The Olm message body is not base64.");
    }

    private static byte[] DecodeKey(string key, string what)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!Base64Codec.TryDecode(key, out var bytes))
        {
            throw new OlmException(CryptoErrorCodes.InvalidBase64, $"The {what} is not base64.");
        }

        return bytes.Length == OlmPrimitives.KeyLength
            ? bytes
            : throw new OlmException(CryptoErrorCodes.BadKey, $"The {what} is {bytes.Length} bytes, not 32.");
    }

    private sealed class SenderChain(byte[] ratchetPublic, byte[] ratchetPrivate, byte[] chainKey, uint index)
    {
        public byte[] RatchetPublic { get; } = ratchetPublic;

        public byte[] RatchetPrivate { get; } = ratchetPrivate;

        public byte[] ChainKey { get; } = chainKey;

        public uint Index { get; set; } = index;
    }

    private sealed class ReceiverChain(byte[] ratchetPublic, byte[] chainKey, uint index)
    {
        public byte[] RatchetPublic { get; } = ratchetPublic;

        public byte[] ChainKey { get; set; } = chainKey;

        public uint Index { get; set; } = index;
    }

    private sealed record SkippedKey(byte[] RatchetPublic, byte[] MessageKey, uint Index);

    /// <summary>
    /// Walks a receiving chain from <c>fromIndex</c> to a message's counter without changing the session:
    /// the message key, the chain key after it, and the keys of the skipped messages worth keeping.
    /// </summary>
    private sealed class ChainWalk
    {
        private ChainWalk(byte[] messageKey, byte[] nextChainKey, List<(uint Index, byte[] Key)> skipped)
        {
            MessageKey = messageKey;
            NextChainKey = nextChainKey;
            Skipped = skipped;
        }

        public byte[] MessageKey { get; }

        public byte[] NextChainKey { get; }

        /// <summary>Oldest first; at most <see cref="MaxSkippedMessageKeys"/>.</summary>
        public List<(uint Index, byte[] Key)> Skipped { get; }

        public static ChainWalk Run(ReadOnlySpan<byte> chainKey, uint fromIndex, uint counter)
        {
            var key = chainKey.ToArray();
            var skipped = new List<(uint, byte[])>();
            for (var index = fromIndex; index < counter; index++)
            {
                if (counter - index <= MaxSkippedMessageKeys)
                {
                    var skippedKey = new byte[32];
                    OlmPrimitives.MessageKey(key, skippedKey);
                    skipped.Add((index, skippedKey));
                }

                OlmPrimitives.AdvanceChainKey(key, key);
            }

            var messageKey = new byte[32];
            OlmPrimitives.MessageKey(key, messageKey);
            OlmPrimitives.AdvanceChainKey(key, key);
            return new ChainWalk(messageKey, key, skipped);
        }
    }
}
