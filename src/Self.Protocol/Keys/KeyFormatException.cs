namespace Self.Protocol.Keys;

/// <summary>A secret key or public key could not be read. The message never contains key material.</summary>
public sealed class KeyFormatException : SelfException
{
    /// <summary>Creates the exception.</summary>
    public KeyFormatException(string message, Exception? innerException = null)
        : base("invalid_key", message, innerException)
    {
    }
}
