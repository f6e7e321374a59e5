using Self.Protocol;

namespace Self.Crypto.Olm;

/// <summary>
/// An Olm account or session refused an input. <see cref="SelfException.ErrorCode"/> is one of <see cref="CryptoErrorCodes"/>.
/// The account or session is unchanged when this is thrown.
/// </summary>
public sealed class OlmException : SelfException
{
    /// <summary>Creates the exception.</summary>
    public OlmException(string errorCode, string message)
        : base(errorCode, message)
    {
    }
}
