namespace Self.Protocol.Frames;

/// <summary>
/// One binary frame of the <c>/v2/messaging</c> websocket (spec §6). <see cref="FrameCodec"/> turns frames into
/// bytes and back; the subtype says which table the bytes hold.
/// </summary>
/// <param name="Id">The frame id. A <see cref="NotificationFrame"/> echoes the id of the frame it answers.</param>
public abstract record Frame(string Id);
