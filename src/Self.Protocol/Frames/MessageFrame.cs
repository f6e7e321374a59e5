namespace Self.Protocol.Frames;

/// <summary>
/// An end-to-end encrypted message for one device (spec §6, table <c>Message</c>). Two frames are equal when their
/// fields are, byte vectors compared by content.
/// </summary>
/// <param name="Id">The frame id (not the conversation id; gen-1 SDKs reuse it for the copies to several devices).</param>
/// <param name="Subtype">A hint for push notifications; SDKs send <see cref="MsgSubType.Unknown"/>.</param>
/// <param name="Sender">The sending address, <c>&lt;id&gt;:&lt;device&gt;</c>.</param>
/// <param name="Recipient">The receiving address, <c>&lt;id&gt;:&lt;device&gt;</c>.</param>
/// <param name="Timestamp"><c>metadata.timestamp</c>: 0 from a client; the server's unix time in nanoseconds on delivery.</param>
/// <param name="Offset"><c>metadata.offset</c>: 0 from a client; the position in the recipient's inbox on delivery.</param>
/// <param name="Ciphertext">The envelope (spec §8).</param>
/// <param name="Priority">1 for messages a person should see (requests), else 0.</param>
/// <param name="MessageType">The <c>typ</c> of the message as UTF-8, relayed unchanged.</param>
/// <param name="CollapseKey">A push-notification collapse key, relayed unchanged.</param>
/// <param name="NotificationPayload">A push-notification payload, relayed unchanged.</param>
/// <param name="Authorization">An authorization blob, relayed unchanged.</param>
public sealed record MessageFrame(
    string Id,
    MsgSubType Subtype,
    string Sender,
    string Recipient,
    long Timestamp = 0,
    long Offset = 0,
    ReadOnlyMemory<byte> Ciphertext = default,
    uint Priority = 0,
    ReadOnlyMemory<byte> MessageType = default,
    ReadOnlyMemory<byte> CollapseKey = default,
    ReadOnlyMemory<byte> NotificationPayload = default,
    ReadOnlyMemory<byte> Authorization = default) : Frame(Id)
{
    /// <summary>Field-by-field equality, with the byte vectors compared by content rather than by buffer.</summary>
    public bool Equals(MessageFrame? other) =>
        other is not null
        && base.Equals(other)
        && Subtype == other.Subtype
        && string.Equals(Sender, other.Sender, StringComparison.Ordinal)
        && string.Equals(Recipient, other.Recipient, StringComparison.Ordinal)
        && Timestamp == other.Timestamp
        && Offset == other.Offset
        && Priority == other.Priority
        && Ciphertext.Span.SequenceEqual(other.Ciphertext.Span)
        && MessageType.Span.SequenceEqual(other.MessageType.Span)
        && CollapseKey.Span.SequenceEqual(other.CollapseKey.Span)
        && NotificationPayload.Span.SequenceEqual(other.NotificationPayload.Span)
        && Authorization.Span.SequenceEqual(other.Authorization.Span);

    /// <inheritdoc />
    public override int GetHashCode() =>
        HashCode.Combine(base.GetHashCode(), Subtype, Sender, Recipient, Timestamp, Offset, Priority, Ciphertext.Length);
}
