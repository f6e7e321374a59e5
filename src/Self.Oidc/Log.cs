using Microsoft.Extensions.Logging;

namespace Self.Oidc;

/// <summary>Operational log messages of the provider (event ids 9000–9099, docs/log-event-ids.md).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "Self OpenID Provider listening on {Addresses}, issuer {Issuer}, Self app {AppId}")]
    public static partial void Listening(ILogger logger, string addresses, string issuer, string appId);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Warning, Message = "Ping to {Endpoint} for request {RequestId} failed (attempt {Attempt} of {Attempts}): {Reason}")]
    public static partial void PingFailed(ILogger logger, string endpoint, string requestId, int attempt, int attempts, string reason);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Debug, Message = "Self answer for conversation {Cid} matched no CIBA request (a login-page sign-in, or a request of another instance)")]
    public static partial void AnswerUnmatched(ILogger logger, string cid);
}

/// <summary>
/// The audit log (category <c>Self.Oidc.Audit</c>, event ids 9100–9199): who asked for whom, when, and the result.
/// It names requests by their internal id, never by <c>auth_req_id</c>, and never holds tokens or secrets.
/// </summary>
internal static partial class Audit
{
    public const string Category = "Self.Oidc.Audit";

    [LoggerMessage(EventId = 9101, Level = LogLevel.Information, Message = "audit backchannel_request client={ClientId} user={SelfId} request={RequestId} mode={Mode} expires={ExpiresAt:o} result={Result}")]
    public static partial void BackchannelRequest(ILogger logger, string clientId, string selfId, string requestId, string mode, DateTimeOffset expiresAt, string result);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Information, Message = "audit backchannel_refused client={ClientId} user={SelfId} error={Error}")]
    public static partial void BackchannelRefused(ILogger logger, string clientId, string selfId, string error);

    [LoggerMessage(EventId = 9103, Level = LogLevel.Information, Message = "audit user_answer request={RequestId} client={ClientId} user={SelfId} device={DeviceId} result={Result}")]
    public static partial void UserAnswer(ILogger logger, string requestId, string clientId, string selfId, string deviceId, string result);

    [LoggerMessage(EventId = 9104, Level = LogLevel.Information, Message = "audit token_request client={ClientId} request={RequestId} result={Result}")]
    public static partial void TokenRequest(ILogger logger, string clientId, string requestId, string result);

    [LoggerMessage(EventId = 9105, Level = LogLevel.Information, Message = "audit ping client={ClientId} request={RequestId} result={Result}")]
    public static partial void Ping(ILogger logger, string clientId, string requestId, string result);

    [LoggerMessage(EventId = 9106, Level = LogLevel.Information, Message = "audit login user={SelfId} result={Result}")]
    public static partial void Login(ILogger logger, string selfId, string result);

    [LoggerMessage(EventId = 9107, Level = LogLevel.Information, Message = "audit authorization_code client={ClientId} user={SelfId} result={Result}")]
    public static partial void Authorization(ILogger logger, string clientId, string selfId, string result);

    [LoggerMessage(EventId = 9108, Level = LogLevel.Warning, Message = "audit client_assertion_replay client={ClientId}")]
    public static partial void AssertionReplay(ILogger logger, string clientId);
}
