using System.Buffers.Binary;
using System.Text;

namespace Self.Protocol.Frames;

/// <summary>
/// Reads the root table of a FlatBuffers buffer that may come from anyone. Every offset and length is checked
/// against the buffer before it is followed, so bad bytes end in <see cref="FrameFormatException"/>, never in an
/// out-of-range read or an allocation larger than the buffer. Offsets are computed in 64 bits so no sum overflows.
/// </summary>
internal readonly ref struct TableReader
{
    private const int UOffsetSize = sizeof(uint);

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlySpan<byte> _buffer;
    private readonly int _table;
    private readonly int _vtable;
    private readonly int _vtableSize;
    private readonly int _tableSize;

    private TableReader(ReadOnlySpan<byte> buffer, int table, int vtable, int vtableSize, int tableSize)
    {
        _buffer = buffer;
        _table = table;
        _vtable = vtable;
        _vtableSize = vtableSize;
        _tableSize = tableSize;
    }

    /// <summary>Opens the root table: checks the root offset, the table's vtable and both sizes.</summary>
    public static TableReader OpenRoot(ReadOnlySpan<byte> buffer)
    {
        long length = buffer.Length;
        if (length < UOffsetSize)
        {
            throw new FrameFormatException($"a frame has at least {UOffsetSize} bytes; this one has {length}");
        }

        long table = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
        if (table < UOffsetSize || table > length - sizeof(int))
        {
            throw new FrameFormatException($"the root table offset {table} lies outside the {length}-byte frame");
        }

        // The table starts with a signed offset back to its vtable (usually a positive one: the vtable sits before).
        var vtable = table - BinaryPrimitives.ReadInt32LittleEndian(buffer[(int)table..]);
        if (vtable < 0 || vtable > length - 2 * sizeof(ushort))
        {
            throw new FrameFormatException($"the vtable offset {vtable} lies outside the {length}-byte frame");
        }

        int vtableSize = BinaryPrimitives.ReadUInt16LittleEndian(buffer[(int)vtable..]);
        if (vtableSize < 2 * sizeof(ushort) || vtableSize % sizeof(ushort) != 0 || vtable + vtableSize > length)
        {
            throw new FrameFormatException($"the vtable size {vtableSize} at {vtable} does not fit the {length}-byte frame");
        }

        int tableSize = BinaryPrimitives.ReadUInt16LittleEndian(buffer[((int)vtable + sizeof(ushort))..]);
        if (tableSize < sizeof(int) || table + tableSize > length)
        {
            throw new FrameFormatException($"the table size {tableSize} at {table} does not fit the {length}-byte frame");
        }

        return new TableReader(buffer, (int)table, (int)vtable, vtableSize, tableSize);
    }

    public byte ReadByte(int slot)
    {
        var at = FieldPosition(slot, sizeof(byte));
        return at == 0 ? (byte)0 : _buffer[at];
    }

    public bool ReadBool(int slot) => ReadByte(slot) != 0;

    public ushort ReadUInt16(int slot)
    {
        var at = FieldPosition(slot, sizeof(ushort));
        return at == 0 ? (ushort)0 : BinaryPrimitives.ReadUInt16LittleEndian(_buffer[at..]);
    }

    public uint ReadUInt32(int slot)
    {
        var at = FieldPosition(slot, sizeof(uint));
        return at == 0 ? 0u : BinaryPrimitives.ReadUInt32LittleEndian(_buffer[at..]);
    }

    public long ReadInt64(int slot)
    {
        var at = FieldPosition(slot, sizeof(long));
        return at == 0 ? 0L : BinaryPrimitives.ReadInt64LittleEndian(_buffer[at..]);
    }

    /// <summary>The position of an inline struct of <paramref name="size"/> bytes, or 0 when the field is absent.</summary>
    public int StructPosition(int slot, int size) => FieldPosition(slot, size);

    /// <summary>Bytes of the frame at a position <see cref="StructPosition"/> returned (already bounds-checked).</summary>
    public ReadOnlySpan<byte> Slice(int position, int length) => _buffer.Slice(position, length);

    /// <summary>A string field, or <see langword="null"/> when absent. It must be in bounds, NUL-terminated and UTF-8.</summary>
    public string? ReadString(int slot)
    {
        var (start, length) = Vector(slot, "string", terminator: 1);
        if (start < 0)
        {
            return null;
        }

        if (_buffer[start + length] != 0)
        {
            throw new FrameFormatException($"the string in field {slot} is not NUL-terminated");
        }

        try
        {
            return StrictUtf8.GetString(_buffer.Slice(start, length));
        }
        catch (DecoderFallbackException ex)
        {
            throw new FrameFormatException($"the string in field {slot} is not UTF-8", ex);
        }
    }

    /// <summary>A <c>[ubyte]</c> field copied out of the buffer (so the frame outlives it); empty when absent.</summary>
    public ReadOnlyMemory<byte> ReadBytes(int slot)
    {
        var (start, length) = Vector(slot, "vector", terminator: 0);
        return start < 0 || length == 0 ? ReadOnlyMemory<byte>.Empty : _buffer.Slice(start, length).ToArray();
    }

    /// <summary>
    /// Where field <paramref name="slot"/> sits in the buffer, or 0 when the vtable leaves it out. A present field
    /// must lie wholly inside the table's inline part, after the vtable offset.
    /// </summary>
    private int FieldPosition(int slot, int size)
    {
        var entry = sizeof(ushort) * (2 + slot);
        if (entry + sizeof(ushort) > _vtableSize)
        {
            return 0;
        }

        int fieldOffset = BinaryPrimitives.ReadUInt16LittleEndian(_buffer[(_vtable + entry)..]);
        if (fieldOffset == 0)
        {
            return 0;
        }

        if (fieldOffset < sizeof(int) || fieldOffset + size > _tableSize)
        {
            throw new FrameFormatException(
                $"field {slot} ({size} bytes at {fieldOffset}) lies outside its {_tableSize}-byte table");
        }

        return _table + fieldOffset;
    }

    /// <summary>Follows the offset in field <paramref name="slot"/> to a length-prefixed vector; (-1, 0) when absent.</summary>
    private (int Start, int Length) Vector(int slot, string what, int terminator)
    {
        var at = FieldPosition(slot, UOffsetSize);
        if (at == 0)
        {
            return (-1, 0);
        }

        long length = _buffer.Length;
        var target = at + (long)BinaryPrimitives.ReadUInt32LittleEndian(_buffer[at..]);
        if (target > length - UOffsetSize)
        {
            throw new FrameFormatException($"the {what} in field {slot} starts at {target}, outside the {length}-byte frame");
        }

        long count = BinaryPrimitives.ReadUInt32LittleEndian(_buffer[(int)target..]);
        var start = target + UOffsetSize;
        if (count + terminator > length - start)
        {
            throw new FrameFormatException($"the {what} in field {slot} claims {count} bytes; only {length - start} remain");
        }

        return ((int)start, (int)count);
    }
}
