namespace Self.Protocol.Frames;

/// <summary>
/// Bytes that are not a frame of spec §6: truncated, out-of-bounds offsets, an unknown <c>msgtype</c>, a Message
/// without metadata. Error code <c>invalid_frame</c>.
/// </summary>
public sealed class FrameFormatException : SelfException
{
    /// <summary>Creates the exception with a message that says what is wrong with the bytes.</summary>
    public FrameFormatException(string message, Exception? innerException = null)
        : base("invalid_frame", message, innerException)
    {
    }
}
