using Self.Crypto.Internal;

namespace Self.Crypto.Olm;

// Persistence of an OlmSession: this library's own export format and the import of libolm 3 pickles.
public sealed partial class OlmSession
{
    /// <summary>
    /// The session in this library's own binary format. The bytes hold secrets: encrypt them before storing
    /// them.
    /// </summary>
    public byte[] Export()
    {
        lock (_gate)
        {
            var writer = new StateWriter();
            writer.Bytes(ExportMagic);
            writer.Byte(ExportVersion);
            writer.Byte(_receivedMessage ? (byte)1 : (byte)0);
            writer.Bytes(_aliceIdentityKey);
            writer.Bytes(_aliceBaseKey);
            writer.Bytes(_bobOneTimeKey);
            writer.Bytes(_rootKey);
            if (_senderChain is { } sender)
            {
                writer.Byte(1);
                writer.Bytes(sender.RatchetPublic);
                writer.Bytes(sender.RatchetPrivate);
                writer.Bytes(sender.ChainKey);
                writer.UInt32(sender.Index);
            }
            else
            {
                writer.Byte(0);
            }

            writer.Byte((byte)_receiverChains.Count);
            foreach (var chain in _receiverChains)
            {
                writer.Bytes(chain.RatchetPublic);
                writer.Bytes(chain.ChainKey);
                writer.UInt32(chain.Index);
            }

            writer.Byte((byte)_skippedKeys.Count);
            foreach (var key in _skippedKeys)
            {
                writer.Bytes(key.RatchetPublic);
                writer.Bytes(key.MessageKey);
                writer.UInt32(key.Index);
            }

            return writer.ToArray();
        }
    }

    /// <summary>Restores a session written by <see cref="Export"/>.</summary>
    /// <exception cref="OlmException"><c>bad_export</c> when the bytes are not a valid export.</exception>
    public static OlmSession Import(ReadOnlySpan<byte> exported)
    {
        var reader = new StateReader(exported);
        if (!reader.Bytes(4).SequenceEqual(ExportMagic))
        {
            throw StateReader.Bad("not an exported Olm session");
        }

        var version = reader.Byte();
        if (version != ExportVersion)
        {
            throw StateReader.Bad($"unknown session export version {version}");
        }

        var received = Flag(reader.Byte());
        var session = new OlmSession(Key(ref reader), Key(ref reader), Key(ref reader), Key(ref reader))
        {
            _receivedMessage = received,
        };
        if (Flag(reader.Byte()))
        {
            session._senderChain = new SenderChain(Key(ref reader), Key(ref reader), Key(ref reader), reader.UInt32());
        }

        var receivers = reader.Byte();
        if (receivers > MaxReceiverChains)
        {
            throw StateReader.Bad("too many receiver chains");
        }

        for (var i = 0; i < receivers; i++)
        {
            session._receiverChains.Add(new ReceiverChain(Key(ref reader), Key(ref reader), reader.UInt32()));
        }

        var skipped = reader.Byte();
        if (skipped > MaxSkippedMessageKeys)
        {
            throw StateReader.Bad("too many skipped message keys");
        }

        for (var i = 0; i < skipped; i++)
        {
            session._skippedKeys.Add(new SkippedKey(Key(ref reader), Key(ref reader), reader.UInt32()));
        }

        reader.End();
        if (session._senderChain is null && session._receiverChains.Count == 0)
        {
            throw StateReader.Bad("the session has no chains");
        }

        return session;

        static bool Flag(byte value) => value switch
        {
            0 => false,
            1 => true,
            _ => throw StateReader.Bad("bad flag"),
        };

        static byte[] Key(ref StateReader reader) => reader.Bytes(OlmPrimitives.KeyLength).ToArray();
    }

    /// <summary>
    /// Rebuilds a session from a libolm session pickle (as the official Self SDKs store them), so conversations
    /// they started can go on.
    /// </summary>
    /// <exception cref="OlmException"><c>bad_pickle</c> when the pickle or its key is wrong.</exception>
    public static OlmSession FromLibolmPickle(string pickle, ReadOnlySpan<byte> pickleKey)
    {
        var pickled = LibolmPickle.ReadSession(pickle, pickleKey);
        if (pickled.SenderChains.Count > 1
            || pickled.ReceiverChains.Count > MaxReceiverChains
            || pickled.SkippedMessageKeys.Count > MaxSkippedMessageKeys
            || (pickled.SenderChains.Count == 0 && pickled.ReceiverChains.Count == 0))
        {
            throw new OlmException(CryptoErrorCodes.BadPickle, "The pickled session has chain counts libolm never writes.");
        }

        var session = new OlmSession(pickled.AliceIdentityKey, pickled.AliceBaseKey, pickled.BobOneTimeKey, pickled.RootKey)
        {
            _receivedMessage = pickled.ReceivedMessage,
        };
        if (pickled.SenderChains.Count == 1)
        {
            var sender = pickled.SenderChains[0];
            session._senderChain = new SenderChain(sender.RatchetPublic, sender.RatchetPrivate!, sender.Key, sender.Index);
        }

        session._receiverChains.AddRange(pickled.ReceiverChains.Select(c => new ReceiverChain(c.RatchetPublic, c.Key, c.Index)));
        session._skippedKeys.AddRange(pickled.SkippedMessageKeys.Select(k => new SkippedKey(k.RatchetPublic, k.Key, k.Index)));
        return session;
    }
}
