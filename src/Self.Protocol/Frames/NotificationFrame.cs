namespace Self.Protocol.Frames;

/// <summary>The answer to a frame with the same id: ACK or ERR (spec §6, table <c>Notification</c>).</summary>
/// <param name="Id">The id of the frame this answers.</param>
/// <param name="Type"><see cref="MsgType.Ack"/> or <see cref="MsgType.Err"/>; <see cref="FrameCodec"/> refuses anything else.</param>
/// <param name="Error">Why the frame was refused; <see langword="null"/> on an ACK (an empty one is not written and reads back as <see langword="null"/>).</param>
/// <param name="ErrorType">What kind of refusal; <see cref="ErrType.ErrConnection"/> (the default) on an ACK.</param>
public sealed record NotificationFrame(string Id, MsgType Type, string? Error = null, ErrType ErrorType = ErrType.ErrConnection)
    : Frame(Id)
{
    /// <summary>An ACK for the frame <paramref name="id"/>.</summary>
    public static NotificationFrame Ack(string id) => new(id, MsgType.Ack);

    /// <summary>An ERR for the frame <paramref name="id"/>, with its kind and a reason for people.</summary>
    public static NotificationFrame Err(string id, ErrType errorType, string reason) => new(id, MsgType.Err, reason, errorType);
}
