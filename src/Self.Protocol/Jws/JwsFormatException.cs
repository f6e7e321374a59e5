namespace Self.Protocol.Jws;

/// <summary>A JWS (flattened JSON or compact) is not well formed: bad JSON, bad base64, or a bad header.</summary>
public sealed class JwsFormatException : SelfException
{
    /// <summary>Creates the exception.</summary>
    public JwsFormatException(string message, Exception? innerException = null)
        : base("invalid_jws", message, innerException)
    {
    }
}
