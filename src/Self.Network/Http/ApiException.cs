using Self.Protocol;

namespace Self.Network.Http;

/// <summary>A refused REST request: becomes <c>{"message","code"}</c> with <see cref="StatusCode"/>.</summary>
internal sealed class ApiException : SelfException
{
    public ApiException(int statusCode, string errorCode, string message, TimeSpan? retryAfter = null)
        : base(errorCode, message)
    {
        StatusCode = statusCode;
        RetryAfter = retryAfter;
    }

    public int StatusCode { get; }

    /// <summary>For 429: how long the client should wait.</summary>
    public TimeSpan? RetryAfter { get; }

    public static ApiException BadRequest(string message, string code = ErrorCodes.BadRequest) => new(400, code, message);

    public static ApiException Unauthorized(string message, string code = ErrorCodes.Unauthorized) => new(401, code, message);

    public static ApiException Forbidden(string message, string code = ErrorCodes.Forbidden) => new(403, code, message);

    public static ApiException NotFound(string message, string code = ErrorCodes.NotFound) => new(404, code, message);

    public static ApiException Conflict(string message, string code = ErrorCodes.Conflict) => new(409, code, message);

    public static ApiException TooLarge(string message) => new(413, ErrorCodes.TooLarge, message);

    public static ApiException RateLimited(TimeSpan retryAfter) =>
        new(429, ErrorCodes.RateLimited, $"rate limited; retry after {Policy.KeyedRateLimiter.ToRetrySeconds(retryAfter)} s", retryAfter);
}

/// <summary>The stable <c>code</c> values of REST errors.</summary>
internal static class ErrorCodes
{
    /// <summary>400: the request is malformed.</summary>
    public const string BadRequest = "bad_request";

    /// <summary>400: a history operation broke a rule of spec §3.</summary>
    public const string InvalidHistory = "invalid_history";

    /// <summary>400: a connection permit or revoke is not acceptable.</summary>
    public const string InvalidPermit = "invalid_permit";

    /// <summary>401: no token, or the token was refused.</summary>
    public const string Unauthorized = "unauthorized";

    /// <summary>403: the caller may not do this.</summary>
    public const string Forbidden = "forbidden";

    /// <summary>403: the identity has not connected to (permitted) the caller.</summary>
    public const string NotConnected = "not_connected";

    /// <summary>404: the identity, device, key or permit does not exist.</summary>
    public const string NotFound = "not_found";

    /// <summary>404: the device has no one-time key left.</summary>
    public const string NoOneTimeKeys = "no_one_time_keys";

    /// <summary>409: the request conflicts with the current state.</summary>
    public const string Conflict = "conflict";

    /// <summary>409: the wanted id is already registered.</summary>
    public const string IdTaken = "id_taken";

    /// <summary>409: the root operation's key already belongs to another identity.</summary>
    public const string RootTaken = "root_taken";

    /// <summary>409: the device would hold too many one-time keys.</summary>
    public const string TooManyKeys = "too_many_keys";

    /// <summary>413: the body or a list in it is too large.</summary>
    public const string TooLarge = "too_large";

    /// <summary>429: over a rate limit; see <c>Retry-After</c>.</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>500: the server failed.</summary>
    public const string Internal = "internal";
}
