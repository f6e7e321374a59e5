namespace Self.Crypto.Olm;

/// <summary>An Olm normal message (type 1), as read from the wire. Views into the decoded bytes.</summary>
internal readonly struct NormalMessage
{
    public required ReadOnlyMemory<byte> RatchetKey { get; init; }

    public required uint Counter { get; init; }

    public required ReadOnlyMemory<byte> Ciphertext { get; init; }

    /// <summary>Every byte before the MAC: what the MAC covers.</summary>
    public required ReadOnlyMemory<byte> Authenticated { get; init; }

    public required ReadOnlyMemory<byte> Mac { get; init; }
}

/// <summary>An Olm pre-key message (type 0), as read from the wire.</summary>
internal readonly struct PreKeyMessage
{
    public required ReadOnlyMemory<byte> OneTimeKey { get; init; }

    public required ReadOnlyMemory<byte> BaseKey { get; init; }

    public required ReadOnlyMemory<byte> IdentityKey { get; init; }

    public required ReadOnlyMemory<byte> Message { get; init; }
}

/// <summary>
/// libolm's message encodings: a version byte, then protobuf-style fields (tag byte, varint or
/// length-prefixed bytes); normal messages end with an 8-byte MAC.
/// </summary>
internal static class OlmWireFormat
{
    // Normal message fields.
    private const byte RatchetKeyTag = 0x0A;
    private const byte CounterTag = 0x10;
    private const byte CiphertextTag = 0x22;

    // Pre-key message fields.
    private const byte OneTimeKeyTag = 0x0A;
    private const byte BaseKeyTag = 0x12;
    private const byte IdentityKeyTag = 0x1A;
    private const byte MessageTag = 0x22;

    /// <summary>Encodes a normal message with zeroed room for the MAC at the end.</summary>
    public static byte[] EncodeNormal(ReadOnlySpan<byte> ratchetKey, uint counter, ReadOnlySpan<byte> ciphertext)
    {
        var length = 1
            + 1 + VarintLength((ulong)ratchetKey.Length) + ratchetKey.Length
            + 1 + VarintLength(counter)
            + 1 + VarintLength((ulong)ciphertext.Length) + ciphertext.Length
            + OlmPrimitives.MacLength;
        var output = new byte[length];
        var pos = 0;
        output[pos++] = OlmPrimitives.ProtocolVersion;
        pos = WriteBytes(output, pos, RatchetKeyTag, ratchetKey);
        output[pos++] = CounterTag;
        pos = WriteVarint(output, pos, counter);
        WriteBytes(output, pos, CiphertextTag, ciphertext);
        return output;
    }

    public static byte[] EncodePreKey(
        ReadOnlySpan<byte> oneTimeKey,
        ReadOnlySpan<byte> baseKey,
        ReadOnlySpan<byte> identityKey,
        ReadOnlySpan<byte> message)
    {
        var length = 1
            + 3 * (1 + 1 + OlmPrimitives.KeyLength)
            + 1 + VarintLength((ulong)message.Length) + message.Length;
        var output = new byte[length];
        var pos = 0;
        output[pos++] = OlmPrimitives.ProtocolVersion;
        pos = WriteBytes(output, pos, OneTimeKeyTag, oneTimeKey);
        pos = WriteBytes(output, pos, BaseKeyTag, baseKey);
        pos = WriteBytes(output, pos, IdentityKeyTag, identityKey);
        WriteBytes(output, pos, MessageTag, message);
        return output;
    }

    public static NormalMessage DecodeNormal(ReadOnlyMemory<byte> input)
    {
        if (input.Length < 1 + OlmPrimitives.MacLength)
        {
            throw Format("The message is shorter than a version byte and a MAC.");
        }

        var body = input[..^OlmPrimitives.MacLength];
        CheckVersion(body.Span[0]);

        ReadOnlyMemory<byte>? ratchetKey = null;
        ReadOnlyMemory<byte>? ciphertext = null;
        ulong? counter = null;
        var reader = new FieldReader(body[1..]);
        while (reader.Next(out var tag, out var value, out var bytes))
        {
            switch (tag)
            {
                case RatchetKeyTag:
                    ratchetKey = bytes;
                    break;
                case CounterTag:
                    counter = value;
                    break;
                case CiphertextTag:
                    ciphertext = bytes;
                    break;
            }
        }

        if (ratchetKey is null || counter is null || ciphertext is null)
        {
            throw Format("The message lacks its ratchet key, counter or ciphertext.");
        }

        if (ratchetKey.Value.Length != OlmPrimitives.KeyLength)
        {
            throw Format("The message's ratchet key is not 32 bytes.");
        }

        if (counter > uint.MaxValue)
        {
            throw Format("The message counter is out of range.");
        }

        return new NormalMessage
        {
            RatchetKey = ratchetKey.Value,
            Counter = (uint)counter.Value,
            Ciphertext = ciphertext.Value,
            Authenticated = body,
            Mac = input[^OlmPrimitives.MacLength..],
        };
    }

    public static PreKeyMessage DecodePreKey(ReadOnlyMemory<byte> input)
    {
        if (input.Length < 1)
        {
            throw Format("The pre-key message is empty.");
        }

        CheckVersion(input.Span[0]);
        ReadOnlyMemory<byte>? oneTimeKey = null;
        ReadOnlyMemory<byte>? baseKey = null;
        ReadOnlyMemory<byte>? identityKey = null;
        ReadOnlyMemory<byte>? message = null;
        var reader = new FieldReader(input[1..]);
        while (reader.Next(out var tag, out _, out var bytes))
        {
            switch (tag)
            {
                case OneTimeKeyTag:
                    oneTimeKey = bytes;
                    break;
                case BaseKeyTag:
                    baseKey = bytes;
                    break;
                case IdentityKeyTag:
                    identityKey = bytes;
                    break;
                case MessageTag:
                    message = bytes;
                    break;
            }
        }

        if (oneTimeKey is null || baseKey is null || identityKey is null || message is null)
        {
            throw Format("The pre-key message lacks its one-time key, base key, identity key or inner message.");
        }

        if (oneTimeKey.Value.Length != OlmPrimitives.KeyLength
            || baseKey.Value.Length != OlmPrimitives.KeyLength
            || identityKey.Value.Length != OlmPrimitives.KeyLength)
        {
            throw Format("A key in the pre-key message is not 32 bytes.");
        }

        return new PreKeyMessage
        {
            OneTimeKey = oneTimeKey.Value,
            BaseKey = baseKey.Value,
            IdentityKey = identityKey.Value,
            Message = message.Value,
        };
    }

    private static void CheckVersion(byte version)
    {
        if (version != OlmPrimitives.ProtocolVersion)
        {
            throw new OlmException(
                CryptoErrorCodes.BadMessageVersion,
                $"Olm message version {version} is not supported (only version {OlmPrimitives.ProtocolVersion}).");
        }
    }

    private static OlmException Format(string message) => new(CryptoErrorCodes.BadMessageFormat, message);

    private static int VarintLength(ulong value)
    {
        var length = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            length++;
        }

        return length;
    }

    private static int WriteVarint(byte[] output, int pos, ulong value)
    {
        while (value >= 0x80)
        {
            output[pos++] = (byte)((value & 0x7F) | 0x80);
            value >>= 7;
        }

        output[pos++] = (byte)value;
        return pos;
    }

    private static int WriteBytes(byte[] output, int pos, byte tag, ReadOnlySpan<byte> value)
    {
        output[pos++] = tag;
        pos = WriteVarint(output, pos, (ulong)value.Length);
        value.CopyTo(output.AsSpan(pos));
        return pos + value.Length;
    }

    /// <summary>Walks the fields after the version byte; unknown varint and length-delimited fields are skipped.</summary>
    private struct FieldReader(ReadOnlyMemory<byte> input)
    {
        private int _pos;

        public bool Next(out ulong tag, out ulong value, out ReadOnlyMemory<byte> bytes)
        {
            value = 0;
            bytes = default;
            tag = 0;
            if (_pos >= input.Length)
            {
                return false;
            }

            tag = ReadVarint();
            switch (tag & 0x7)
            {
                case 0:
                    value = ReadVarint();
                    return true;
                case 2:
                    var length = ReadVarint();
                    if (length > (ulong)(input.Length - _pos))
                    {
                        throw Format("A field is longer than the message.");
                    }

                    bytes = input.Slice(_pos, (int)length);
                    _pos += (int)length;
                    return true;
                default:
                    throw Format($"Field tag 0x{tag:X} has an unsupported wire type.");
            }
        }

        private ulong ReadVarint()
        {
            ulong result = 0;
            var span = input.Span;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_pos >= span.Length)
                {
                    throw Format("The message ends inside a number.");
                }

                var b = span[_pos++];
                result |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return result;
                }
            }

            throw Format("A number in the message is too long.");
        }
    }
}
