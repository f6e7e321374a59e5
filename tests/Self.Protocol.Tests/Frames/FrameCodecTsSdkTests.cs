using System.Text;
using System.Text.Json;
using Self.Protocol.Frames;

namespace Self.Protocol.Tests.Frames;

/// <summary>FrameCodec against the bytes the official TypeScript SDK sent and received (ts-sdk/README.md).</summary>
public class FrameCodecTsSdkTests
{
    public static TheoryData<string> AllFrames => new(TsSdkFrames.All);

    public static TheoryData<string> FramesWithLayout => new(TsSdkFrames.All.Where(n => n != "frame-ack-sent-by-capture-server"));

    [Theory]
    [InlineData("frame-auth")]
    [InlineData("frame-auth-restart")]
    public void Decode_TsSdkAuthFrame_GivesRecordedFields(string name)
    {
        var bytes = TsSdkFrames.Bytes(name);
        var json = TsSdkFrames.Json(name);
        var fields = json.GetProperty("fields");

        var frame = FrameCodec.Decode(bytes);

        var auth = Assert.IsType<AuthFrame>(frame);
        Assert.Equal(json.GetProperty("length_bytes").GetInt32(), bytes.Length);
        Assert.Equal(fields.GetProperty("id").GetString(), auth.Id);
        Assert.Equal(fields.GetProperty("token").GetString(), auth.Token);
        Assert.Equal(fields.GetProperty("device").GetString(), auth.Device);
        Assert.Equal(TsSdkFrames.Long(fields.GetProperty("offset")), auth.Offset);
        Assert.Equal((MsgType)fields.GetProperty("msgtype").GetInt32(), FrameCodec.ReadHeader(bytes).Type);
    }

    [Fact]
    public void Decode_TsSdkAuthFrames_OffsetIsZeroFirstAndOneOnRestart()
    {
        Assert.Equal(0, ((AuthFrame)FrameCodec.Decode(TsSdkFrames.Bytes("frame-auth"))).Offset);
        Assert.Equal(1, ((AuthFrame)FrameCodec.Decode(TsSdkFrames.Bytes("frame-auth-restart"))).Offset);
    }

    [Fact]
    public void Decode_CaptureServerAck_IsAckEchoingAuthId()
    {
        var bytes = TsSdkFrames.Bytes("frame-ack-sent-by-capture-server");
        var authId = TsSdkFrames.Json("frame-auth").GetProperty("fields").GetProperty("id").GetString();

        var frame = FrameCodec.Decode(bytes);

        Assert.Equal(68, bytes.Length);
        Assert.Equal(new NotificationFrame(authId!, MsgType.Ack, null, ErrType.ErrConnection), frame);
        Assert.Equal(NotificationFrame.Ack(authId!), frame);
    }

    [Theory]
    [InlineData("frame-message-request", "envelope.json")]
    [InlineData("frame-message-response", "envelope-response.json")]
    public void Decode_TsSdkMessageFrame_GivesRecordedFieldsAndEnvelopeBytes(string name, string envelopeFile)
    {
        var bytes = TsSdkFrames.Bytes(name);
        var json = TsSdkFrames.Json(name);
        var fields = json.GetProperty("fields");

        var message = Assert.IsType<MessageFrame>(FrameCodec.Decode(bytes));

        Assert.Equal(json.GetProperty("length_bytes").GetInt32(), bytes.Length);
        Assert.Equal(fields.GetProperty("id").GetString(), message.Id);
        Assert.Equal(MsgType.Msg, (MsgType)fields.GetProperty("msgtype").GetInt32());
        Assert.Equal((MsgSubType)fields.GetProperty("subtype").GetInt32(), message.Subtype);
        Assert.Equal(fields.GetProperty("sender").GetString(), message.Sender);
        Assert.Equal(fields.GetProperty("recipient").GetString(), message.Recipient);
        Assert.Equal(TsSdkFrames.Long(fields.GetProperty("metadata").GetProperty("timestamp")), message.Timestamp);
        Assert.Equal(TsSdkFrames.Long(fields.GetProperty("metadata").GetProperty("offset")), message.Offset);
        Assert.Equal(fields.GetProperty("priority").GetUInt32(), message.Priority);
        Assert.Equal(fields.GetProperty("ciphertext_length").GetInt32(), message.Ciphertext.Length);
        Assert.Equal(TsSdkFrames.RawFile(envelopeFile), message.Ciphertext.ToArray());
        AssertLengthIfRecorded(fields, "message_type_length", message.MessageType);
        AssertLengthIfRecorded(fields, "collapse_key_length", message.CollapseKey);
        AssertLengthIfRecorded(fields, "notification_payload_length", message.NotificationPayload);
        AssertLengthIfRecorded(fields, "authorization_length", message.Authorization);
    }

    [Fact]
    public void Decode_CaptureServerResponse_TimestampIsRecordedNanoseconds()
    {
        var message = (MessageFrame)FrameCodec.Decode(TsSdkFrames.Bytes("frame-message-response"));
        var recorded = TsSdkFrames.Json("frame-message-response").GetProperty("fields").GetProperty("metadata")
            .GetProperty("timestamp").GetProperty("value").GetString();

        Assert.Equal(long.Parse(recorded!, System.Globalization.CultureInfo.InvariantCulture), message.Timestamp);
        Assert.Equal(1, message.Offset);
    }

    [Fact]
    public void Decode_RequestEnvelope_IsOmemoJsonForUserDevice()
    {
        var message = (MessageFrame)FrameCodec.Decode(TsSdkFrames.Bytes("frame-message-request"));

        using var envelope = JsonDocument.Parse(message.Ciphertext);
        Assert.True(envelope.RootElement.GetProperty("recipients").TryGetProperty(message.Recipient, out _));
    }

    [Theory]
    [MemberData(nameof(AllFrames))]
    public void Encode_DecodedTsSdkFrame_DecodesToSameFrame(string name)
    {
        var decoded = FrameCodec.Decode(TsSdkFrames.Bytes(name));

        var again = FrameCodec.Decode(FrameCodec.Encode(decoded));

        Assert.Equal(decoded, again);
    }

    [Theory]
    [MemberData(nameof(FramesWithLayout))]
    public void Encode_DecodedTsSdkFrame_KeepsRecordedSlotPresence(string name)
    {
        var recorded = FlatBufferLayout.FromJson(TsSdkFrames.Json(name).GetProperty("flatbuffer_layout"));

        var ours = FlatBufferLayout.Of(FrameCodec.Encode(FrameCodec.Decode(TsSdkFrames.Bytes(name))));

        Assert.Equal(recorded.PresentSlots(), ours.PresentSlots());
        Assert.Equal(recorded, ours, LayoutComparer.Instance);
    }

    [Theory]
    [MemberData(nameof(AllFrames))]
    public void Encode_DecodedTsSdkFrame_IsByteIdenticalToCapture(string name)
    {
        var captured = TsSdkFrames.Bytes(name);

        var encoded = FrameCodec.Encode(FrameCodec.Decode(captured));

        Assert.Equal(Convert.ToHexString(captured), Convert.ToHexString(encoded));
    }

    [Fact]
    public void Encode_MessageLikeTsSdkBuildsIt_OmitsMsgtypeSubtypeAndLaterSlots()
    {
        var frame = new MessageFrame("d46eab25-f43c-49ac-b7ee-e2097439a983", MsgSubType.Unknown, "a:1", "b:1", Ciphertext: "{}"u8.ToArray());

        var layout = FlatBufferLayout.Of(FrameCodec.Encode(frame));

        Assert.Equal([0, 3, 4, 5, 6], layout.PresentSlots());
        Assert.Equal(4 + 2 * 7, layout.VtableSizeBytes);
    }

    private static void AssertLengthIfRecorded(JsonElement fields, string property, ReadOnlyMemory<byte> value)
    {
        if (fields.TryGetProperty(property, out var length))
        {
            Assert.Equal(length.GetInt32(), value.Length);
        }
    }

    private sealed class LayoutComparer : IEqualityComparer<FlatBufferLayout>
    {
        public static readonly LayoutComparer Instance = new();

        public bool Equals(FlatBufferLayout? x, FlatBufferLayout? y) =>
            x is not null && y is not null
            && x.RootTableOffset == y.RootTableOffset
            && x.VtableOffset == y.VtableOffset
            && x.VtableSizeBytes == y.VtableSizeBytes
            && x.TableInlineSizeBytes == y.TableInlineSizeBytes
            && x.FieldOffsets.SequenceEqual(y.FieldOffsets);

        public int GetHashCode(FlatBufferLayout obj) => obj.RootTableOffset;
    }
}
