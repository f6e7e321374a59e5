namespace Self.Protocol;

/// <summary>
/// The root of every exception the Self libraries throw on purpose. Callers branch on <see cref="ErrorCode"/>,
/// a stable snake_case string that never changes once published; the message is for people.
/// </summary>
public abstract class SelfException : Exception
{
    /// <summary>Creates the exception with its stable code and a human-readable message.</summary>
    protected SelfException(string errorCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentException.ThrowIfNullOrEmpty(errorCode);
        ErrorCode = errorCode;
    }

    /// <summary>A stable, machine-readable code (snake_case), e.g. <c>invalid_jws</c>.</summary>
    public string ErrorCode { get; }
}
