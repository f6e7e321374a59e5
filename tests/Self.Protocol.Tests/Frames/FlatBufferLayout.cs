using System.Buffers.Binary;
using System.Text.Json;

namespace Self.Protocol.Tests.Frames;

/// <summary>
/// The vtable layout of a root table, read straight from the bytes in the terms of the conformance README's
/// <c>flatbuffer_layout</c> blocks: an offset of 0 means the field is absent.
/// </summary>
internal sealed record FlatBufferLayout(int RootTableOffset, int VtableOffset, int VtableSizeBytes, int TableInlineSizeBytes, int[] FieldOffsets)
{
    /// <summary>Reads the layout of trusted bytes (no bounds checks beyond the span's own).</summary>
    public static FlatBufferLayout Of(ReadOnlySpan<byte> bytes)
    {
        var table = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        var vtable = table - BinaryPrimitives.ReadInt32LittleEndian(bytes[table..]);
        int vtableSize = BinaryPrimitives.ReadUInt16LittleEndian(bytes[vtable..]);
        int tableSize = BinaryPrimitives.ReadUInt16LittleEndian(bytes[(vtable + 2)..]);
        var slots = new int[(vtableSize - 4) / 2];
        for (var i = 0; i < slots.Length; i++)
        {
            slots[i] = BinaryPrimitives.ReadUInt16LittleEndian(bytes[(vtable + 4 + 2 * i)..]);
        }

        return new FlatBufferLayout(table, vtable, vtableSize, tableSize, slots);
    }

    /// <summary>The layout a conformance <c>.json</c> records.</summary>
    public static FlatBufferLayout FromJson(JsonElement layout)
    {
        var vtableSize = layout.GetProperty("vtable_size_bytes").GetInt32();
        var slots = new int[(vtableSize - 4) / 2];
        foreach (var slot in layout.GetProperty("slots").EnumerateArray())
        {
            slots[slot.GetProperty("slot").GetInt32()] = slot.GetProperty("field_offset_in_table").GetInt32();
        }

        return new FlatBufferLayout(
            layout.GetProperty("root_table_offset").GetInt32(),
            layout.GetProperty("vtable_offset").GetInt32(),
            vtableSize,
            layout.GetProperty("table_inline_size_bytes").GetInt32(),
            slots);
    }

    /// <summary>Whether slot <paramref name="slot"/> is written (beyond the vtable's end counts as absent).</summary>
    public bool Has(int slot) => slot < FieldOffsets.Length && FieldOffsets[slot] != 0;

    /// <summary>The written slots, ascending.</summary>
    public int[] PresentSlots() => Enumerable.Range(0, FieldOffsets.Length).Where(Has).ToArray();
}
