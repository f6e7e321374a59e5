namespace Self.Protocol.Frames;

/// <summary>
/// Why a frame was refused: the <c>errtype</c> of an ERR <see cref="NotificationFrame"/> (spec §6). Values outside
/// this list are kept as their number when decoded.
/// </summary>
public enum ErrType : byte
{
    /// <summary>The connection failed. Also the schema default, carried by every ACK.</summary>
    ErrConnection = 0,

    /// <summary>The frame could not be parsed or is not allowed at this point.</summary>
    ErrBadRequest = 1,

    /// <summary>The server failed (for example, it could not store the message); sending again may work.</summary>
    ErrInternal = 2,

    /// <summary>The message was refused: wrong sender, unknown recipient, not permitted, rate limited.</summary>
    ErrMessage = 3,

    /// <summary>The Auth frame was refused.</summary>
    ErrAuth = 4,

    /// <summary>The Watch frame was refused.</summary>
    ErrWatch = 6,
}
