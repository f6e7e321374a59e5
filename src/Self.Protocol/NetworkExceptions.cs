using System.Net;

namespace Self.Protocol;

/// <summary>The server answered a REST call with an error (spec §5: <c>{"message","code"}</c>).</summary>
public class SelfApiException : SelfException
{
    /// <summary>Creates the exception from the server's answer.</summary>
    public SelfApiException(HttpStatusCode statusCode, string errorCode, string message, Exception? innerException = null)
        : base(errorCode, message, innerException)
    {
        StatusCode = statusCode;
    }

    /// <summary>The HTTP status the server answered with.</summary>
    public HttpStatusCode StatusCode { get; }
}

/// <summary>The server refused a REST call with 429; <see cref="RetryAfter"/> says when to try again.</summary>
public sealed class RateLimitedException : SelfApiException
{
    /// <summary>Creates the exception.</summary>
    public RateLimitedException(TimeSpan retryAfter, string message, Exception? innerException = null)
        : base(HttpStatusCode.TooManyRequests, "rate_limited", message, innerException)
    {
        RetryAfter = retryAfter;
    }

    /// <summary>How long the server asked the caller to wait.</summary>
    public TimeSpan RetryAfter { get; }
}

/// <summary>The server could not be reached (connection refused, reset, DNS, time-out) after the configured retries.</summary>
public sealed class ServerUnreachableException : SelfException
{
    /// <summary>Creates the exception.</summary>
    public ServerUnreachableException(string message, Exception? innerException = null)
        : base("server_unreachable", message, innerException)
    {
    }
}

/// <summary>The messaging server refused the Auth frame of a websocket session (ERR <c>ErrAuth</c>).</summary>
public sealed class AuthenticationFailedException : SelfException
{
    /// <summary>Creates the exception with the server's reason.</summary>
    public AuthenticationFailedException(string reason, Exception? innerException = null)
        : base("authentication_failed", $"the messaging server refused the session: {reason}", innerException)
    {
        Reason = reason;
    }

    /// <summary>The reason the server gave.</summary>
    public string Reason { get; }
}

/// <summary>The websocket closed before the server answered a message; it may or may not have been stored.</summary>
public sealed class ConnectionLostException : SelfException
{
    /// <summary>Creates the exception.</summary>
    public ConnectionLostException(string message, Exception? innerException = null)
        : base("connection_lost", message, innerException)
    {
    }
}

/// <summary>The local store cannot be opened with the given storage key (wrong key, or the file is not ours).</summary>
public sealed class StorageKeyException : SelfException
{
    /// <summary>Creates the exception.</summary>
    public StorageKeyException(string message, Exception? innerException = null)
        : base("storage_key_mismatch", message, innerException)
    {
    }
}
