using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.FlatBuffers;

namespace Self.Protocol.Frames;

/// <summary>
/// Turns <see cref="Frame"/>s into the bytes of spec §6 and back: one FlatBuffers root table per frame, no file
/// identifier, no size prefix, fields in the slots of the <c>SelfMessaging</c> schema. Fields equal to their default
/// are left out when encoding, as the gen-1 SDKs do, and read as their default when decoding. Decoding checks every
/// offset against the buffer, so hostile bytes give <see cref="FrameFormatException"/> and nothing else.
/// </summary>
public static class FrameCodec
{
    // Every table starts with these two (the Header table).
    private const int IdSlot = 0;
    private const int MsgTypeSlot = 1;

    private const int AuthTokenSlot = 2;
    private const int AuthDeviceSlot = 3;
    private const int AuthOffsetSlot = 4;
    private const int AuthSlotCount = 5;

    private const int NotificationErrorSlot = 2;
    private const int NotificationErrTypeSlot = 3;
    private const int NotificationSlotCount = 4;

    private const int MessageSubtypeSlot = 2;
    private const int MessageSenderSlot = 3;
    private const int MessageRecipientSlot = 4;
    private const int MessageMetadataSlot = 5;
    private const int MessageCiphertextSlot = 6;

    // Slot 7 is the deprecated `urgent` flag: never written, ignored when present.
    private const int MessagePrioritySlot = 8;
    private const int MessageTypeSlot = 9;
    private const int MessageCollapseKeySlot = 10;
    private const int MessageNotificationPayloadSlot = 11;
    private const int MessageAuthorizationSlot = 12;
    private const int MessageSlotCount = 13;

    private const int WatchRecipientSlot = 2;
    private const int WatchWatchSlot = 3;
    private const int WatchSlotCount = 4;

    private const int StatusRecipientSlot = 2;
    private const int StatusOnlineSlot = 3;
    private const int StatusLastSeenSlot = 4;
    private const int StatusSlotCount = 5;

    /// <summary>The Metadata struct: timestamp (int64), then offset (int64).</summary>
    private const int MetadataSize = 2 * sizeof(long);

    // Room for the tables, vtables, length prefixes and padding around the strings and vectors.
    private const int BuilderOverhead = 128;

    /// <summary>Encodes <paramref name="frame"/> as one FlatBuffers table.</summary>
    /// <exception cref="ArgumentException">A required string is null, or a <see cref="NotificationFrame"/> is neither ACK nor ERR.</exception>
    public static byte[] Encode(Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(frame.Id, nameof(frame) + "." + nameof(frame.Id));
        return frame switch
        {
            MessageFrame message => EncodeMessage(message),
            NotificationFrame notification => EncodeNotification(notification),
            AuthFrame auth => EncodeAuth(auth),
            WatchFrame watch => EncodeWatch(watch),
            StatusFrame status => EncodeStatus(status),
            _ => throw new ArgumentException($"{frame.GetType().Name} is not a frame of spec §6", nameof(frame)),
        };
    }

    /// <summary>
    /// Decodes one frame: reads the header (<c>id</c>, <c>msgtype</c>), then the table <c>msgtype</c> names. Byte
    /// vectors are copied, so the frame does not depend on <paramref name="bytes"/> afterwards.
    /// </summary>
    /// <exception cref="FrameFormatException">The bytes are not a frame of spec §6.</exception>
    public static Frame Decode(ReadOnlyMemory<byte> bytes)
    {
        var table = TableReader.OpenRoot(bytes.Span);
        var id = table.ReadString(IdSlot) ?? string.Empty;
        var type = (MsgType)table.ReadByte(MsgTypeSlot);
        return type switch
        {
            MsgType.Msg => DecodeMessage(table, id),
            MsgType.Ack or MsgType.Err => new NotificationFrame(
                id, type, NullIfEmpty(table.ReadString(NotificationErrorSlot)), (ErrType)table.ReadByte(NotificationErrTypeSlot)),
            MsgType.Auth => new AuthFrame(
                id,
                table.ReadString(AuthTokenSlot) ?? string.Empty,
                table.ReadString(AuthDeviceSlot) ?? string.Empty,
                table.ReadInt64(AuthOffsetSlot)),
            MsgType.Wtc => new WatchFrame(id, table.ReadString(WatchRecipientSlot) ?? string.Empty, table.ReadBool(WatchWatchSlot)),
            MsgType.Sts => new StatusFrame(
                id,
                table.ReadString(StatusRecipientSlot) ?? string.Empty,
                table.ReadBool(StatusOnlineSlot),
                table.ReadInt64(StatusLastSeenSlot)),
            _ => throw new FrameFormatException($"msgtype {(byte)type} is not a frame type this protocol knows"),
        };
    }

    /// <summary>
    /// Reads only the header every frame starts with: its <c>id</c> (empty when absent) and <c>msgtype</c>, which
    /// is returned as written even when it is not a known <see cref="MsgType"/>.
    /// </summary>
    /// <exception cref="FrameFormatException">The bytes do not hold a readable root table.</exception>
    public static (string Id, MsgType Type) ReadHeader(ReadOnlySpan<byte> bytes)
    {
        var table = TableReader.OpenRoot(bytes);
        return (table.ReadString(IdSlot) ?? string.Empty, (MsgType)table.ReadByte(MsgTypeSlot));
    }

    /// <summary>Like <see cref="ReadHeader"/>, but answers false instead of throwing; for answering a bad frame by its id.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> bytes, out string id, out MsgType type)
    {
        try
        {
            (id, type) = ReadHeader(bytes);
            return true;
        }
        catch (FrameFormatException)
        {
            id = string.Empty;
            type = default;
            return false;
        }
    }

    /// <summary>
    /// Writes <c>metadata.timestamp</c> and <c>metadata.offset</c> into an encoded Message in place: what the relay
    /// does to every message it delivers, without decoding and encoding it again.
    /// </summary>
    /// <exception cref="FrameFormatException">The bytes are not a Message with its metadata.</exception>
    public static void StampMetadata(Span<byte> encodedMessage, long timestamp, long offset)
    {
        var at = MetadataPosition(encodedMessage);
        BinaryPrimitives.WriteInt64LittleEndian(encodedMessage[at..], timestamp);
        BinaryPrimitives.WriteInt64LittleEndian(encodedMessage[(at + sizeof(long))..], offset);
    }

    /// <summary>A copy of an encoded Message with its metadata set; see <see cref="StampMetadata"/>.</summary>
    /// <exception cref="FrameFormatException">The bytes are not a Message with its metadata.</exception>
    public static byte[] WithMetadata(ReadOnlySpan<byte> encodedMessage, long timestamp, long offset)
    {
        var copy = encodedMessage.ToArray();
        StampMetadata(copy, timestamp, offset);
        return copy;
    }

    private static int MetadataPosition(ReadOnlySpan<byte> bytes)
    {
        var table = TableReader.OpenRoot(bytes);
        var type = table.ReadByte(MsgTypeSlot);
        if (type != (byte)MsgType.Msg)
        {
            throw new FrameFormatException($"msgtype {type} is not a Message");
        }

        var at = table.StructPosition(MessageMetadataSlot, MetadataSize);
        return at != 0 ? at : throw new FrameFormatException("the Message has no metadata, which the schema requires");
    }

    private static MessageFrame DecodeMessage(TableReader table, string id)
    {
        var metadata = table.StructPosition(MessageMetadataSlot, MetadataSize);
        if (metadata == 0)
        {
            throw new FrameFormatException("the Message has no metadata, which the schema requires");
        }

        var (timestamp, offset) = ReadMetadata(table, metadata);
        return new MessageFrame(
            id,
            (MsgSubType)table.ReadUInt16(MessageSubtypeSlot),
            table.ReadString(MessageSenderSlot) ?? string.Empty,
            table.ReadString(MessageRecipientSlot) ?? string.Empty,
            timestamp,
            offset,
            table.ReadBytes(MessageCiphertextSlot),
            table.ReadUInt32(MessagePrioritySlot),
            table.ReadBytes(MessageTypeSlot),
            table.ReadBytes(MessageCollapseKeySlot),
            table.ReadBytes(MessageNotificationPayloadSlot),
            table.ReadBytes(MessageAuthorizationSlot));
    }

    private static (long Timestamp, long Offset) ReadMetadata(TableReader table, int position)
    {
        var bytes = table.Slice(position, MetadataSize);
        return (BinaryPrimitives.ReadInt64LittleEndian(bytes), BinaryPrimitives.ReadInt64LittleEndian(bytes[sizeof(long)..]));
    }

    // The builders below create the strings and vectors, then add the fields, in the order the TypeScript SDK
    // does; FlatBuffers lays a table out by that order, so for the frames it sends our bytes are the same as its.
    private static byte[] EncodeMessage(MessageFrame message)
    {
        ArgumentNullException.ThrowIfNull(message.Sender, nameof(message) + "." + nameof(message.Sender));
        ArgumentNullException.ThrowIfNull(message.Recipient, nameof(message) + "." + nameof(message.Recipient));
        var builder = NewBuilder(
            Utf8Length(message.Id) + Utf8Length(message.Sender) + Utf8Length(message.Recipient) + message.Ciphertext.Length
            + message.MessageType.Length + message.CollapseKey.Length + message.NotificationPayload.Length
            + message.Authorization.Length);

        var id = builder.CreateString(message.Id);
        var sender = builder.CreateString(message.Sender);
        var recipient = builder.CreateString(message.Recipient);
        var ciphertext = CreateBytes(builder, message.Ciphertext);
        var messageType = CreateBytes(builder, message.MessageType);
        var collapseKey = CreateBytes(builder, message.CollapseKey);
        var notificationPayload = CreateBytes(builder, message.NotificationPayload);
        var authorization = CreateBytes(builder, message.Authorization);

        builder.StartTable(MessageSlotCount);
        builder.AddOffset(IdSlot, id.Value, 0);
        builder.AddByte(MsgTypeSlot, (byte)MsgType.Msg, 0);
        builder.AddUshort(MessageSubtypeSlot, (ushort)message.Subtype, 0);
        builder.AddOffset(MessageSenderSlot, sender.Value, 0);
        builder.AddOffset(MessageRecipientSlot, recipient.Value, 0);
        builder.AddOffset(MessageCiphertextSlot, ciphertext, 0);

        // Required, so written even when both are 0. A struct is written inline, last member first.
        builder.Prep(sizeof(long), MetadataSize);
        builder.PutLong(message.Offset);
        builder.PutLong(message.Timestamp);
        builder.AddStruct(MessageMetadataSlot, builder.Offset, 0);

        builder.AddUint(MessagePrioritySlot, message.Priority, 0);
        builder.AddOffset(MessageTypeSlot, messageType, 0);
        builder.AddOffset(MessageCollapseKeySlot, collapseKey, 0);
        builder.AddOffset(MessageNotificationPayloadSlot, notificationPayload, 0);
        builder.AddOffset(MessageAuthorizationSlot, authorization, 0);
        return Finish(builder, builder.EndTable());
    }

    private static byte[] EncodeNotification(NotificationFrame notification)
    {
        if (notification.Type is not (MsgType.Ack or MsgType.Err))
        {
            throw new ArgumentException(
                $"a Notification is ACK or ERR, not {notification.Type}", nameof(notification));
        }

        var builder = NewBuilder(Utf8Length(notification.Id) + Utf8Length(notification.Error));
        var id = builder.CreateString(notification.Id);
        var error = string.IsNullOrEmpty(notification.Error) ? 0 : builder.CreateString(notification.Error).Value;

        builder.StartTable(NotificationSlotCount);
        builder.AddOffset(IdSlot, id.Value, 0);
        builder.AddByte(MsgTypeSlot, (byte)notification.Type, 0);
        builder.AddOffset(NotificationErrorSlot, error, 0);
        builder.AddByte(NotificationErrTypeSlot, (byte)notification.ErrorType, 0);
        return Finish(builder, builder.EndTable());
    }

    private static byte[] EncodeAuth(AuthFrame auth)
    {
        ArgumentNullException.ThrowIfNull(auth.Token, nameof(auth) + "." + nameof(auth.Token));
        ArgumentNullException.ThrowIfNull(auth.Device, nameof(auth) + "." + nameof(auth.Device));
        var builder = NewBuilder(Utf8Length(auth.Id) + Utf8Length(auth.Token) + Utf8Length(auth.Device));
        var id = builder.CreateString(auth.Id);
        var token = builder.CreateString(auth.Token);
        var device = builder.CreateString(auth.Device);

        builder.StartTable(AuthSlotCount);
        builder.AddOffset(IdSlot, id.Value, 0);
        builder.AddByte(MsgTypeSlot, (byte)MsgType.Auth, 0);
        builder.AddOffset(AuthDeviceSlot, device.Value, 0);
        builder.AddOffset(AuthTokenSlot, token.Value, 0);
        builder.AddLong(AuthOffsetSlot, auth.Offset, 0);
        return Finish(builder, builder.EndTable());
    }

    private static byte[] EncodeWatch(WatchFrame watch)
    {
        ArgumentNullException.ThrowIfNull(watch.Recipient, nameof(watch) + "." + nameof(watch.Recipient));
        var builder = NewBuilder(Utf8Length(watch.Id) + Utf8Length(watch.Recipient));
        var id = builder.CreateString(watch.Id);
        var recipient = builder.CreateString(watch.Recipient);

        builder.StartTable(WatchSlotCount);
        builder.AddOffset(IdSlot, id.Value, 0);
        builder.AddByte(MsgTypeSlot, (byte)MsgType.Wtc, 0);
        builder.AddOffset(WatchRecipientSlot, recipient.Value, 0);
        builder.AddBool(WatchWatchSlot, watch.Watch, false);
        return Finish(builder, builder.EndTable());
    }

    private static byte[] EncodeStatus(StatusFrame status)
    {
        ArgumentNullException.ThrowIfNull(status.Recipient, nameof(status) + "." + nameof(status.Recipient));
        var builder = NewBuilder(Utf8Length(status.Id) + Utf8Length(status.Recipient));
        var id = builder.CreateString(status.Id);
        var recipient = builder.CreateString(status.Recipient);

        builder.StartTable(StatusSlotCount);
        builder.AddOffset(IdSlot, id.Value, 0);
        builder.AddByte(MsgTypeSlot, (byte)MsgType.Sts, 0);
        builder.AddOffset(StatusRecipientSlot, recipient.Value, 0);
        builder.AddBool(StatusOnlineSlot, status.Online, false);
        builder.AddLong(StatusLastSeenSlot, status.LastSeen, 0);
        return Finish(builder, builder.EndTable());
    }

    // An empty reason is never written, so one read back is the same as none.
    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;

    private static FlatBufferBuilder NewBuilder(int payloadBytes) => new(payloadBytes + BuilderOverhead);

    private static int Utf8Length(string? text) => text is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(text);

    /// <summary>A <c>[ubyte]</c> vector, or offset 0 (field left out) when empty.</summary>
    private static int CreateBytes(FlatBufferBuilder builder, ReadOnlyMemory<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return 0;
        }

        var segment = MemoryMarshal.TryGetArray(bytes, out var array) ? array : new ArraySegment<byte>(bytes.ToArray());
        builder.StartVector(sizeof(byte), segment.Count, sizeof(byte));
        builder.Add(segment);
        return builder.EndVector().Value;
    }

    private static byte[] Finish(FlatBufferBuilder builder, int table)
    {
        builder.Finish(table);
        return builder.SizedByteArray();
    }
}
