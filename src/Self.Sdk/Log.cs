using Microsoft.Extensions.Logging;

namespace Self.Sdk;

/// <summary>Every log line of the SDK, with stable event ids.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "SelfClient of app {AppId} started on {ApiUrl}")]
    public static partial void Started(ILogger logger, string appId, Uri apiUrl);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Debug, Message = "Authentication request {Cid} sent to {SelfId}, expires {Expires:o}")]
    public static partial void RequestSent(ILogger logger, string cid, string selfId, DateTimeOffset expires);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Response dropped ({Reason}): cid {Cid} from {Sender}")]
    public static partial void ResponseDropped(ILogger logger, string reason, string? cid, string sender);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Authentication request {Cid} ended: {Status}")]
    public static partial void RequestEnded(ILogger logger, string cid, string status);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Error, Message = "A response handler threw for request {Cid}")]
    public static partial void HandlerFailed(ILogger logger, string cid, Exception exception);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Information, Message = "Restored {Count} open requests from the local store")]
    public static partial void Restored(ILogger logger, int count);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Warning, Message = "Stored request {Cid} is damaged and was removed")]
    public static partial void DamagedRequest(ILogger logger, string cid, Exception exception);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Information, Message = "User {SelfId} connected to the app (invitation {Cid})")]
    public static partial void UserConnected(ILogger logger, string selfId, string cid);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Warning, Message = "Connection response dropped ({Reason}) from {Sender}")]
    public static partial void ConnectionResponseDropped(ILogger logger, string reason, string sender);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "Request {Cid} to {SelfId} could not be sent: {Reason}")]
    public static partial void SendFailed(ILogger logger, string cid, string selfId, string reason);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Warning, Message = "Request {Cid} ended rejected: {SelfId}'s device accepted without the number shown")]
    public static partial void NumberMismatch(ILogger logger, string cid, string selfId);
}
