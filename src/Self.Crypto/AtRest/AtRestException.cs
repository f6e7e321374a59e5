using Self.Protocol;

namespace Self.Crypto.AtRest;

/// <summary>
/// A stored blob could not be decrypted. <see cref="SelfException.ErrorCode"/> is one of <see cref="CryptoErrorCodes"/>.
/// </summary>
public sealed class AtRestException : SelfException
{
    /// <summary>Creates the exception.</summary>
    public AtRestException(string errorCode, string message)
        : base(errorCode, message)
    {
    }
}
