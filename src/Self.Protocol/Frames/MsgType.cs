namespace Self.Protocol.Frames;

/// <summary>The <c>msgtype</c> byte every frame carries in slot 1 (spec §6, <c>SelfMessaging.MsgType</c>).</summary>
public enum MsgType : byte
{
    /// <summary><c>MSG</c>: a <see cref="MessageFrame"/>. The schema default, so never present in the bytes.</summary>
    Msg = 0,

    /// <summary><c>ACK</c>: a <see cref="NotificationFrame"/> that accepts the frame with the same id.</summary>
    Ack = 1,

    /// <summary><c>ERR</c>: a <see cref="NotificationFrame"/> that refuses the frame with the same id.</summary>
    Err = 2,

    /// <summary><c>AUTH</c>: an <see cref="AuthFrame"/>, the first frame of a session.</summary>
    Auth = 3,

    /// <summary><c>WTC</c>: a <see cref="WatchFrame"/> (watch another address's presence).</summary>
    Wtc = 5,

    /// <summary><c>STS</c>: a <see cref="StatusFrame"/> (presence of a watched address).</summary>
    Sts = 6,
}
