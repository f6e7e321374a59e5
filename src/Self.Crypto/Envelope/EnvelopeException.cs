using Self.Protocol;

namespace Self.Crypto.Envelope;

/// <summary>
/// A group envelope could not be opened. <see cref="SelfException.ErrorCode"/> is one of <see cref="CryptoErrorCodes"/>.
/// </summary>
public sealed class EnvelopeException : SelfException
{
    /// <summary>Creates the exception.</summary>
    public EnvelopeException(string errorCode, string message, Exception? innerException = null)
        : base(errorCode, message, innerException)
    {
    }
}
