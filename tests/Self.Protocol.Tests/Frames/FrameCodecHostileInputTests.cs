using System.Buffers.Binary;
using Google.FlatBuffers;
using Self.Protocol.Frames;

namespace Self.Protocol.Tests.Frames;

/// <summary>Bytes from anyone: every bad buffer must end in FrameFormatException and nothing else.</summary>
public class FrameCodecHostileInputTests
{
    // Offsets inside frame-ack-sent-by-capture-server.b64 (68 bytes): root offset 12, vtable at 4 (8 bytes, table
    // size 12, id at +8, msgtype at +7), table at 12, id string at 24 (length 36, NUL at 64).
    private const int AckVtable = 4;
    private const int AckTable = 12;
    private const int AckIdString = 24;

    [Fact]
    public void Decode_Empty_Throws()
    {
        Assert.Throws<FrameFormatException>(() => FrameCodec.Decode(ReadOnlyMemory<byte>.Empty));
        Assert.False(FrameCodec.TryReadHeader([], out _, out _));
    }

    [Fact]
    public void Decode_ThreeBytes_Throws()
    {
        Assert.Throws<FrameFormatException>(() => FrameCodec.Decode(new byte[] { 4, 0, 0 }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(65)]
    [InlineData(68)]
    [InlineData(int.MaxValue)]
    [InlineData(-1)]
    public void Decode_RootOffsetOutsideBuffer_Throws(int root)
    {
        var bytes = Ack();
        BinaryPrimitives.WriteInt32LittleEndian(bytes, root);

        Assert.Throws<FrameFormatException>(() => FrameCodec.Decode(bytes));
    }

    [Theory]
    [InlineData(13)]
    [InlineData(-60)]
    [InlineData(-57)]
    [InlineData(int.MinValue)]
    [InlineData(int.MaxValue)]
    public void Decode_VtablePointingOutsideBuffer_Throws(int soffset)
    {
        var bytes = Ack();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(AckTable), soffset);

        Assert.Throws<FrameFormatException>(() => FrameCodec.Decode(bytes));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(0xFFFF)]
    public void Decode_VtableSizeInvalid_Throws(int vtableSize)
    {
        var bytes = Ack();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(AckVtable), (ushort)vtableSize);

        Assert.Throws<FrameFormatException>(() => FrameCodec.Decode(bytes));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(57)]
    [InlineData(0xFFFF)]
    public void Decode_TableSizeInvalid_Throws(int tableSize)
    {
        var bytes = Ack();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(AckVtable + 2), (ushort)tableSize);

        Assert.Throws<FrameFormatException>(() => FrameCodec.Decode(bytes));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(12)]
    [InlineData(2)]
    [InlineData(0xFFFF)]
    public void Decode_FieldOffsetOutsideTable_Throws(int fieldOffset)
    {
        var bytes = Ack();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(AckVtable + 4), (ushort)fieldOffset);

        Assert.Throws<FrameFormatException>(() => FrameCodec.Decode(bytes));
    }

    [Theory]
    [InlineData(40)] // the NUL would sit just past the 68th byte
    [InlineData(41)]
    [InlineData(0x7FFFFFFF)]
    [InlineData(unchecked((int)0xFFFFFFFF))]
    public void Decode_StringLengthPastEnd_Throws(int length)
    {
        var bytes = Ack();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(AckIdString), length);

        Assert.Throws<FrameFormatException>(() => FrameCodec.Decode(bytes));
        Assert.Throws<FrameFormatException>(() => FrameCodec.ReadHeader(bytes));
    }

    [Theory]
    [InlineData(44)]
    [InlineData(0x7FFFFFF0)]
    [InlineData(unchecked((int)0xFFFFFFFC))]
    public void Decode_StringOffsetPastEnd_Throws(int offset)
    {
        var bytes = Ack();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(AckTable + 8), offset);

        Assert.Throws<FrameFormatException>(() => FrameCodec.Decode(bytes));
    }

    [Fact]
    public void Decode_StringWithoutNulTerminator_Throws()
    {
        var bytes = Ack();
        bytes[AckIdString + 4 + 36] = (byte)'x';

        Assert.Throws<FrameFormatException>(() => FrameCodec.Decode(bytes));
    }

    [Fact]
    public void Decode_StringNotUtf8_Throws()
    {
        var bytes = Ack();
        bytes[AckIdString + 4] = 0xC3;
        bytes[AckIdString + 5] = 0x28;

        var ex = Assert.Throws<FrameFormatException>(() => FrameCodec.Decode(bytes));
        Assert.Equal("invalid_frame", ex.ErrorCode);
    }

    [Fact]
    public void Decode_CiphertextLengthPastEnd_Throws()
    {
        var bytes = TsSdkFrames.Bytes("frame-message-request");
        var layout = FlatBufferLayout.Of(bytes);
        var field = layout.RootTableOffset + layout.FieldOffsets[6];
        var vector = field + BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(field));
        Assert.Equal(1152, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(vector)));

        foreach (var length in new[] { bytes.Length - vector - 3, int.MaxValue, -1 })
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(vector), length);
            Assert.Throws<FrameFormatException>(() => FrameCodec.Decode(bytes));
        }
    }

    [Fact]
    public void Decode_CapturedMessageWithMetadataSlotCleared_Throws()
    {
        var bytes = TsSdkFrames.Bytes("frame-message-request");
        var layout = FlatBufferLayout.Of(bytes);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(layout.VtableOffset + 4 + 2 * 5), 0);

        var ex = Assert.Throws<FrameFormatException>(() => FrameCodec.Decode(bytes));

        Assert.Contains("metadata", ex.Message, StringComparison.Ordinal);
        Assert.Equal(("d46eab25-f43c-49ac-b7ee-e2097439a983", MsgType.Msg), FrameCodec.ReadHeader(bytes));
    }

    [Fact]
    public void Decode_MessageBuiltWithoutMetadata_Throws()
    {
        var builder = new FlatBufferBuilder(64);
        var id = builder.CreateString("m1");
        var sender = builder.CreateString("a:1");
        var recipient = builder.CreateString("b:1");
        builder.StartTable(13);
        builder.AddOffset(0, id.Value, 0);
        builder.AddOffset(3, sender.Value, 0);
        builder.AddOffset(4, recipient.Value, 0);
        builder.Finish(builder.EndTable());
        var bytes = builder.SizedByteArray();

        Assert.Throws<FrameFormatException>(() => FrameCodec.Decode(bytes));
        Assert.Throws<FrameFormatException>(() => FrameCodec.StampMetadata(bytes, 1, 1));
    }

    [Fact]
    public void Decode_MetadataStructOverrunningTable_Throws()
    {
        var bytes = TsSdkFrames.Bytes("frame-message-request");
        var layout = FlatBufferLayout.Of(bytes);
        // The table is 40 bytes; a 16-byte struct at +28 would run past its end.
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(layout.VtableOffset + 4 + 2 * 5), 28);

        Assert.Throws<FrameFormatException>(() => FrameCodec.Decode(bytes));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(200)]
    [InlineData(255)]
    public void Decode_UnknownMsgtype_Throws(byte msgtype)
    {
        var bytes = Ack();
        bytes[AckTable + 7] = msgtype;

        var ex = Assert.Throws<FrameFormatException>(() => FrameCodec.Decode(bytes));

        Assert.Contains(msgtype.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
        Assert.Equal((MsgType)msgtype, FrameCodec.ReadHeader(bytes).Type);
    }

    [Fact]
    public void Decode_SeededRandomBuffers_OnlyFramesOrFormatErrors()
    {
        var random = new Random(20241128);
        for (var i = 0; i < 5_000; i++)
        {
            var bytes = new byte[random.Next(0, 96)];
            random.NextBytes(bytes);
            if (bytes.Length >= 4 && i % 2 == 0)
            {
                // Half the time, point the root at a plausible place so the deeper checks get exercised too.
                BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)random.Next(0, bytes.Length));
            }

            DecodeOrFormatError(bytes);
        }
    }

    [Fact]
    public void Decode_TwentyThousandMutationsOfRealFrames_OnlyFramesOrFormatErrors()
    {
        var seeds = TsSdkFrames.All.Select(TsSdkFrames.Bytes)
            .Append(FrameCodec.Encode(new MessageFrame("m", MsgSubType.FactReq, "a:1", "b:1", 1, 2, new byte[] { 1 }, 1, new byte[] { 2 }, new byte[] { 3 }, new byte[] { 4 }, new byte[] { 5 })))
            .Append(FrameCodec.Encode(new StatusFrame("s", "a:1", true, 5)))
            .Append(FrameCodec.Encode(new WatchFrame("w", "a:1", true)))
            .Append(FrameCodec.Encode(NotificationFrame.Err("e", ErrType.ErrAuth, "no")))
            .ToArray();
        var random = new Random(6);
        var outcomes = new int[2];

        for (var i = 0; i < 20_000; i++)
        {
            var bytes = Mutate(seeds[random.Next(seeds.Length)], random);
            outcomes[DecodeOrFormatError(bytes) ? 0 : 1]++;
        }

        // Both outcomes must occur, or the mutations are not reaching the checks.
        Assert.True(outcomes[0] > 1000, $"{outcomes[0]} mutations decoded");
        Assert.True(outcomes[1] > 1000, $"{outcomes[1]} mutations refused");
    }

    [Fact]
    public void Decode_HugeClaimedLengths_AllocateNoMoreThanTheInput()
    {
        var bytes = TsSdkFrames.Bytes("frame-message-request");
        var layout = FlatBufferLayout.Of(bytes);
        var field = layout.RootTableOffset + layout.FieldOffsets[6];
        var vector = field + BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(field));
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(vector), int.MaxValue);
        DecodeOrFormatError(bytes);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10; i++)
        {
            DecodeOrFormatError(bytes);
        }

        var perDecode = (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
        Assert.True(perDecode < 4 * bytes.Length + 4096, $"{perDecode} bytes allocated per decode");
    }

    private static byte[] Ack() => TsSdkFrames.Bytes("frame-ack-sent-by-capture-server");

    /// <summary>True when the bytes decoded; false on FrameFormatException. Any other exception fails the test.</summary>
    private static bool DecodeOrFormatError(byte[] bytes)
    {
        FrameCodec.TryReadHeader(bytes, out _, out _);
        try
        {
            var frame = FrameCodec.Decode(bytes);
            Assert.NotNull(frame.Id);

            // Whatever decoded must encode again and decode to the same frame.
            Assert.Equal(frame, FrameCodec.Decode(FrameCodec.Encode(frame)));

            return true;
        }
        catch (FrameFormatException ex)
        {
            Assert.False(string.IsNullOrEmpty(ex.Message));
            return false;
        }
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var bytes = seed.ToArray();
        switch (random.Next(6))
        {
            case 0:
                for (var n = random.Next(1, 4); n > 0; n--)
                {
                    var bit = random.Next(bytes.Length * 8);
                    bytes[bit / 8] ^= (byte)(1 << (bit % 8));
                }

                return bytes;
            case 1:
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                return bytes;
            case 2:
                return bytes[..random.Next(bytes.Length)];
            case 3:
                // Overwrite a 32-bit word in the first 64 bytes, where the offsets and vtables live.
                var at = random.Next(Math.Min(bytes.Length, 64) - 3);
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), random.Next(3) switch
                {
                    0 => random.Next(),
                    1 => -random.Next(1, 256),
                    _ => random.Next(0, bytes.Length + 16),
                });
                return bytes;
            case 4:
                // A 16-bit vtable-sized value somewhere in the header area.
                var pos = random.Next(Math.Min(bytes.Length, 48) - 1);
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(pos), (ushort)random.Next(0, 80));
                return bytes;
            default:
                var cut = random.Next(bytes.Length);
                var extra = new byte[random.Next(1, 8)];
                random.NextBytes(extra);
                return [.. bytes[..cut], .. extra, .. bytes[cut..]];
        }
    }
}
