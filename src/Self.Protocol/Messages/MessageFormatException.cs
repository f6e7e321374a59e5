namespace Self.Protocol.Messages;

/// <summary>A message's claims are not what its type requires (bad JSON, a missing or mistyped claim).</summary>
public sealed class MessageFormatException : SelfException
{
    /// <summary>Creates the exception.</summary>
    public MessageFormatException(string message, Exception? innerException = null)
        : base("invalid_message", message, innerException)
    {
    }
}
