using Microsoft.Extensions.Logging;

namespace Self.Device;

/// <summary>Every log line of the device, with stable event ids. Never a secret: no seeds, storage keys or tokens.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Registered {SelfId} with device {DeviceId} on {ServerUrl}")]
    public static partial void Registered(ILogger logger, string selfId, string deviceId, Uri serverUrl);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Device {DeviceId} of {SelfId} started on {ServerUrl}")]
    public static partial void Started(ILogger logger, string selfId, string deviceId, Uri serverUrl);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "History of {SelfId}: {Operation} accepted (sequence {Sequence})")]
    public static partial void HistoryOperation(ILogger logger, string selfId, string operation, int sequence);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Information, Message = "{SelfId} connected to {Source} until {Expires:o}")]
    public static partial void Connected(ILogger logger, string selfId, string source, DateTimeOffset expires);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "{SelfId} disconnected from {Source}")]
    public static partial void Disconnected(ILogger logger, string selfId, string source);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "Request dropped ({Reason}): {Type} cid {Cid} from {Sender}")]
    public static partial void RequestDropped(ILogger logger, string reason, string type, string? cid, string sender);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Information, Message = "Request {Cid} of {AppId} answered {Status} ({By})")]
    public static partial void RequestAnswered(ILogger logger, string cid, string appId, string status, string by);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Information, Message = "Request {Cid} of {AppId}, which the user has not connected to, answered unauthorized")]
    public static partial void AnsweredUnauthorized(ILogger logger, string cid, string appId);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Warning, Message = "Request {Cid} of {AppId} could not be answered automatically; it stays open")]
    public static partial void AutomaticAnswerFailed(ILogger logger, string cid, string appId, Exception exception);

    [LoggerMessage(EventId = 5017, Level = LogLevel.Warning, Message = "Request {Cid} of {AppId}: the answer did not get through (attempt {Attempt}: {Reason}); sending it again in {Pause}")]
    public static partial void AutomaticAnswerRetried(ILogger logger, string cid, string appId, int attempt, TimeSpan pause, string reason);

    [LoggerMessage(EventId = 5010, Level = LogLevel.Error, Message = "A handler of the RequestAnswered event threw")]
    public static partial void EventHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Information, Message = "Restored {Count} open requests from the local store")]
    public static partial void Restored(ILogger logger, int count);

    [LoggerMessage(EventId = 5012, Level = LogLevel.Warning, Message = "Stored request {Key} is damaged or no longer valid and was removed: {Reason}")]
    public static partial void StoredRequestRemoved(ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 5013, Level = LogLevel.Information, Message = "Invitation {Cid} of {AppId} {Status}")]
    public static partial void InvitationAnswered(ILogger logger, string cid, string appId, string status);

    [LoggerMessage(EventId = 5014, Level = LogLevel.Warning, Message = "A key change of device {DeviceId} was not confirmed by the network and is dropped")]
    public static partial void PendingKeyDropped(ILogger logger, string deviceId);

    [LoggerMessage(EventId = 5015, Level = LogLevel.Information, Message = "A key change of device {DeviceId} interrupted earlier is completed")]
    public static partial void PendingKeyPromoted(ILogger logger, string deviceId);

    [LoggerMessage(EventId = 5016, Level = LogLevel.Warning, Message = "Stale one-time keys of device {DeviceId} could not be cleared: {Reason}")]
    public static partial void OneTimeKeysNotCleared(ILogger logger, string deviceId, string reason);
}
