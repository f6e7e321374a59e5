using System.Buffers.Binary;
using Self.Crypto.Olm;

namespace Self.Crypto.Internal;

/// <summary>Writes the fixed-layout binary state of exported accounts and sessions (big-endian numbers).</summary>
internal sealed class StateWriter
{
    private readonly MemoryStream _buffer = new();

    public void Byte(byte value) => _buffer.WriteByte(value);

    public void Bytes(ReadOnlySpan<byte> value) => _buffer.Write(value);

    public void UInt32(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        _buffer.Write(bytes);
    }

    public byte[] ToArray() => _buffer.ToArray();
}

/// <summary>Reads what <see cref="StateWriter"/> wrote; any shortfall or leftover is a <c>bad_export</c>.</summary>
internal ref struct StateReader(ReadOnlySpan<byte> input)
{
    private readonly ReadOnlySpan<byte> _input = input;
    private int _pos;

    public static OlmException Bad(string reason) =>
        new(CryptoErrorCodes.BadExport, $"The exported Olm state is not valid: {reason}.");

    public byte Byte() => Bytes(1)[0];

    public uint UInt32() => BinaryPrimitives.ReadUInt32BigEndian(Bytes(4));

    public ReadOnlySpan<byte> Bytes(int count)
    {
        if (_input.Length - _pos < count)
        {
            throw Bad("it is truncated");
        }

        var slice = _input.Slice(_pos, count);
        _pos += count;
        return slice;
    }

    public readonly void End()
    {
        if (_pos != _input.Length)
        {
            throw Bad("it has trailing bytes");
        }
    }
}
