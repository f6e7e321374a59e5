using Google.FlatBuffers;
using Self.Protocol.Frames;

namespace Self.Protocol.Tests.Frames;

public class FrameCodecRoundTripTests
{
    private const string Id = "5f0c8a8e-39a4-4b55-9f55-3f4f3b6f8c21";

    public static TheoryData<Frame> Frames => new(
        new AuthFrame(Id, "header.payload.signature", "1"),
        new AuthFrame(Id, "t", "device-ä", long.MaxValue),
        new AuthFrame(Id, "t", "1", -1),
        NotificationFrame.Ack(Id),
        NotificationFrame.Err(Id, ErrType.ErrAuth, "token expired"),
        NotificationFrame.Err(Id, ErrType.ErrWatch, "watching presence is not supported"),
        new NotificationFrame(Id, MsgType.Err, "unknown kind", (ErrType)5),
        new MessageFrame(Id, MsgSubType.Unknown, "f37e9ec4af9a32d8e9fdad497a8b8ab1:1", "84099724068:1", Ciphertext: "{\"recipients\":{}}"u8.ToArray()),
        new MessageFrame(Id, MsgSubType.Unknown, "a:1", "b:2"),
        new MessageFrame(
            Id,
            MsgSubType.DocumentVerificationResp,
            "84099724068:1",
            "f37e9ec4af9a32d8e9fdad497a8b8ab1:1",
            1795858342550000000,
            long.MaxValue,
            new byte[] { 0, 1, 2, 255 },
            1,
            "identities.facts.query.req"u8.ToArray(),
            new byte[] { 7 },
            "{\"title\":\"hi\"}"u8.ToArray(),
            new byte[] { 9, 9 }),
        new MessageFrame(Id, (MsgSubType)999, "a:1", "b:1", -5, -6, Priority: uint.MaxValue),
        new WatchFrame(Id, "84099724068:1", true),
        new WatchFrame(Id, "84099724068:1", false),
        new StatusFrame(Id, "84099724068:1", true, 1795858342),
        new StatusFrame(Id, "84099724068:1", false),
        new AuthFrame(string.Empty, string.Empty, string.Empty));

    [Theory]
    [MemberData(nameof(Frames))]
    public void Decode_EncodedFrame_GivesEqualFrame(Frame frame)
    {
        var bytes = FrameCodec.Encode(frame);

        var decoded = FrameCodec.Decode(bytes);

        Assert.Equal(frame, decoded);
        Assert.Equal(frame.GetType(), decoded.GetType());
    }

    [Theory]
    [MemberData(nameof(Frames))]
    public void ReadHeader_EncodedFrame_GivesIdAndType(Frame frame)
    {
        var expected = frame switch
        {
            MessageFrame => MsgType.Msg,
            NotificationFrame n => n.Type,
            AuthFrame => MsgType.Auth,
            WatchFrame => MsgType.Wtc,
            StatusFrame => MsgType.Sts,
            _ => throw new InvalidOperationException(),
        };

        var bytes = FrameCodec.Encode(frame);

        Assert.Equal((frame.Id, expected), FrameCodec.ReadHeader(bytes));
        Assert.True(FrameCodec.TryReadHeader(bytes, out var id, out var type));
        Assert.Equal((frame.Id, expected), (id, type));
    }

    [Fact]
    public void Encode_FirstAuth_LeavesOffsetOut()
    {
        var first = FlatBufferLayout.Of(FrameCodec.Encode(new AuthFrame(Id, "t", "1", 0)));
        var later = FlatBufferLayout.Of(FrameCodec.Encode(new AuthFrame(Id, "t", "1", 1)));

        Assert.Equal([0, 1, 2, 3], first.PresentSlots());
        Assert.Equal([0, 1, 2, 3, 4], later.PresentSlots());
    }

    [Fact]
    public void Encode_Ack_WritesOnlyIdAndMsgtype()
    {
        var layout = FlatBufferLayout.Of(FrameCodec.Encode(new NotificationFrame(Id, MsgType.Ack, string.Empty)));

        Assert.Equal([0, 1], layout.PresentSlots());
        Assert.Null(((NotificationFrame)FrameCodec.Decode(FrameCodec.Encode(new NotificationFrame(Id, MsgType.Ack, string.Empty)))).Error);
    }

    [Fact]
    public void Encode_Err_WritesReasonAndErrtype()
    {
        var layout = FlatBufferLayout.Of(FrameCodec.Encode(NotificationFrame.Err(Id, ErrType.ErrMessage, "no")));

        Assert.Equal([0, 1, 2, 3], layout.PresentSlots());
    }

    [Fact]
    public void Encode_MessageWithZeroMetadata_StillWritesMetadata()
    {
        var layout = FlatBufferLayout.Of(FrameCodec.Encode(new MessageFrame(Id, MsgSubType.Unknown, "a:1", "b:1")));

        Assert.True(layout.Has(5));
        Assert.False(layout.Has(1));
        Assert.False(layout.Has(6));
    }

    [Fact]
    public void Encode_MessageWithEveryField_WritesEverySlotButUrgent()
    {
        var frame = new MessageFrame(Id, MsgSubType.FactReq, "a:1", "b:1", 1, 2, new byte[] { 1 }, 1, new byte[] { 2 }, new byte[] { 3 }, new byte[] { 4 }, new byte[] { 5 });

        var layout = FlatBufferLayout.Of(FrameCodec.Encode(frame));

        Assert.Equal([0, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12], layout.PresentSlots());
    }

    [Fact]
    public void Decode_MessageWithDeprecatedUrgentSlot_IgnoresIt()
    {
        var builder = new FlatBufferBuilder(64);
        var id = builder.CreateString(Id);
        var sender = builder.CreateString("a:1");
        builder.StartTable(13);
        builder.AddOffset(0, id.Value, 0);
        builder.AddOffset(3, sender.Value, 0);
        builder.Prep(8, 16);
        builder.PutLong(4);
        builder.PutLong(3);
        builder.AddStruct(5, builder.Offset, 0);
        builder.AddBool(7, true, false);
        builder.AddUint(8, 1, 0);
        builder.Finish(builder.EndTable());

        var frame = FrameCodec.Decode(builder.SizedByteArray());

        Assert.Equal(new MessageFrame(Id, MsgSubType.Unknown, "a:1", string.Empty, 3, 4, Priority: 1), frame);
    }

    [Fact]
    public void Decode_ThenMutateInput_FrameKeepsItsBytes()
    {
        var bytes = FrameCodec.Encode(new MessageFrame(Id, MsgSubType.Unknown, "a:1", "b:1", Ciphertext: new byte[] { 1, 2, 3 }));
        var frame = (MessageFrame)FrameCodec.Decode(bytes);

        Array.Fill(bytes, (byte)0xAA);

        Assert.Equal(new byte[] { 1, 2, 3 }, frame.Ciphertext.ToArray());
    }

    [Fact]
    public void Encode_CiphertextSlicedFromLargerArray_WritesOnlyTheSlice()
    {
        var backing = new byte[] { 9, 1, 2, 3, 9 };
        var frame = new MessageFrame(Id, MsgSubType.Unknown, "a:1", "b:1", Ciphertext: backing.AsMemory(1, 3));

        var decoded = (MessageFrame)FrameCodec.Decode(FrameCodec.Encode(frame));

        Assert.Equal(new byte[] { 1, 2, 3 }, decoded.Ciphertext.ToArray());
    }

    [Fact]
    public void StampMetadata_EncodedMessage_DecodesWithNewMetadataAndSameRest()
    {
        var frame = new MessageFrame(Id, MsgSubType.AuthenticationReq, "a:1", "b:1", Ciphertext: new byte[] { 1, 2 }, Priority: 1);
        var bytes = FrameCodec.Encode(frame);

        FrameCodec.StampMetadata(bytes, 1795858342550000000, 42);

        Assert.Equal(frame with { Timestamp = 1795858342550000000, Offset = 42 }, FrameCodec.Decode(bytes));
        Assert.Equal(FrameCodec.Encode(frame with { Timestamp = 1795858342550000000, Offset = 42 }), bytes);
    }

    [Fact]
    public void WithMetadata_CapturedRequest_LeavesInputAlone()
    {
        var captured = TsSdkFrames.Bytes("frame-message-request");
        var original = captured.ToArray();

        var stamped = FrameCodec.WithMetadata(captured, 7, 8);

        Assert.Equal(original, captured);
        var message = (MessageFrame)FrameCodec.Decode(stamped);
        Assert.Equal((7L, 8L), (message.Timestamp, message.Offset));
        Assert.Equal(((MessageFrame)FrameCodec.Decode(captured)) with { Timestamp = 7, Offset = 8 }, message);
    }

    [Theory]
    [InlineData("frame-auth")]
    [InlineData("frame-ack-sent-by-capture-server")]
    public void StampMetadata_NotAMessage_ThrowsAndLeavesBytes(string name)
    {
        var bytes = TsSdkFrames.Bytes(name);
        var original = bytes.ToArray();

        Assert.Throws<FrameFormatException>(() => FrameCodec.StampMetadata(bytes, 1, 1));
        Assert.Equal(original, bytes);
    }

    [Fact]
    public void Encode_NotificationThatIsNeitherAckNorErr_Throws()
    {
        Assert.Throws<ArgumentException>(() => FrameCodec.Encode(new NotificationFrame(Id, MsgType.Msg)));
        Assert.Throws<ArgumentException>(() => FrameCodec.Encode(new NotificationFrame(Id, MsgType.Auth)));
    }

    [Fact]
    public void Encode_NullId_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => FrameCodec.Encode(NotificationFrame.Ack(null!)));
        Assert.Throws<ArgumentNullException>(() => FrameCodec.Encode(new AuthFrame(Id, null!, "1")));
    }

    [Fact]
    public void Equals_MessagesWithSameBytesInDifferentBuffers_AreEqual()
    {
        var a = new MessageFrame(Id, MsgSubType.Unknown, "a:1", "b:1", Ciphertext: new byte[] { 1, 2 });
        var b = new MessageFrame(Id, MsgSubType.Unknown, "a:1", "b:1", Ciphertext: new byte[] { 1, 2 });
        var c = b with { Ciphertext = new byte[] { 1, 3 } };

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, c);
        Assert.NotEqual<Frame>(a, new AuthFrame(Id, "t", "1"));
    }

    [Fact]
    public void ToString_AuthFrame_LeavesTokenOut()
    {
        var text = new AuthFrame(Id, "eyJhbGciOiJFZERTQSJ9.secret-part.sig", "1", 3).ToString();

        Assert.DoesNotContain("secret-part", text, StringComparison.Ordinal);
        Assert.Contains(Id, text, StringComparison.Ordinal);
        Assert.Contains("Offset = 3", text, StringComparison.Ordinal);
    }
}
