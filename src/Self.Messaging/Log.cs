using Microsoft.Extensions.Logging;

namespace Self.Messaging;

/// <summary>Source-generated log messages of Self.Messaging. Event ids are stable; no secret ever reaches a message.</summary>
internal static partial class Log
{
    // 21xx: REST (ids: docs/log-event-ids.md)
    [LoggerMessage(2101, LogLevel.Debug, "{Method} {Path} → {Status}")]
    public static partial void RestCall(ILogger logger, string method, string path, int status);

    [LoggerMessage(2102, LogLevel.Warning, "{Method} {Path} failed ({Reason}); retry {Attempt} of {MaxRetries} in {Delay}")]
    public static partial void RestRetry(ILogger logger, string method, string path, string reason, int attempt, int maxRetries, TimeSpan delay);

    // 22xx: websocket session
    [LoggerMessage(2201, LogLevel.Information, "Messaging session of {Address} authenticated (offset {Offset})")]
    public static partial void Authenticated(ILogger logger, string address, long offset);

    [LoggerMessage(2202, LogLevel.Warning, "Messaging session of {Address} refused: {Reason}")]
    public static partial void AuthenticationRefused(ILogger logger, string address, string reason);

    [LoggerMessage(2203, LogLevel.Warning, "Messaging session of {Address} was superseded by another connection; not reconnecting")]
    public static partial void Superseded(ILogger logger, string address);

    [LoggerMessage(2204, LogLevel.Warning, "Messaging session of {Address} dropped ({Reason}); reconnect attempt {Attempt} in {Delay}")]
    public static partial void Reconnecting(ILogger logger, string address, string reason, int attempt, TimeSpan delay);

    [LoggerMessage(2205, LogLevel.Warning, "Unexpected notification {Id} ({Type}) with no message waiting for it")]
    public static partial void UnmatchedNotification(ILogger logger, string id, string type);

    [LoggerMessage(2206, LogLevel.Warning, "Notification {Id} answered message {ExpectedId}; answers are matched in order")]
    public static partial void NotificationIdMismatch(ILogger logger, string id, string expectedId);

    [LoggerMessage(2207, LogLevel.Warning, "Ignoring an undecodable frame from the server: {Reason}")]
    public static partial void BadServerFrame(ILogger logger, string reason);

    [LoggerMessage(2208, LogLevel.Error, "Message handler failed for frame {Id} (offset {Offset})")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string id, long offset);

    [LoggerMessage(2209, LogLevel.Debug, "Messaging session of {Address} closed")]
    public static partial void Closed(ILogger logger, string address);

    [LoggerMessage(2210, LogLevel.Warning, "Messaging session of {Address} stopped: {Reason}")]
    public static partial void Stopped(ILogger logger, string address, string reason);

    // 23xx: local store
    [LoggerMessage(2301, LogLevel.Information, "Opened local store {Path}")]
    public static partial void StoreOpened(ILogger logger, string path);

    // 24xx: identity directory
    [LoggerMessage(2401, LogLevel.Debug, "Fetched key history of {Id} ({Operations} operations)")]
    public static partial void HistoryFetched(ILogger logger, string id, int operations);

    [LoggerMessage(2402, LogLevel.Warning, "Key history of {Id} does not validate: {Reason}")]
    public static partial void HistoryInvalid(ILogger logger, string id, string reason);

    // 25xx: encrypt/decrypt pipeline
    [LoggerMessage(2501, LogLevel.Warning, "Dropped message {FrameId} from {Sender} at offset {Offset}: {Reason}")]
    public static partial void MessageDropped(ILogger logger, string frameId, string sender, long offset, string reason);

    [LoggerMessage(2502, LogLevel.Debug, "Skipped duplicate message {FrameId} at offset {Offset} ({Reason})")]
    public static partial void DuplicateSkipped(ILogger logger, string frameId, long offset, string reason);

    [LoggerMessage(2503, LogLevel.Information, "Published {Count} one-time keys for {Address}")]
    public static partial void OneTimeKeysPublished(ILogger logger, int count, string address);

    [LoggerMessage(2504, LogLevel.Debug, "Created outbound session with {Address}")]
    public static partial void OutboundSessionCreated(ILogger logger, string address);

    [LoggerMessage(2505, LogLevel.Debug, "Created inbound session with {Address}")]
    public static partial void InboundSessionCreated(ILogger logger, string address);

    [LoggerMessage(2506, LogLevel.Warning, "Skipping device {Address}: {Reason}")]
    public static partial void DeviceSkipped(ILogger logger, string address, string reason);

    [LoggerMessage(2507, LogLevel.Warning, "Message {FrameId} to {Address} was refused: {Reason}")]
    public static partial void DeviceRefused(ILogger logger, string frameId, string address, string reason);

    [LoggerMessage(2508, LogLevel.Error, "A message subscriber failed on message at offset {Offset}")]
    public static partial void SubscriberFailed(ILogger logger, Exception exception, long offset);

    [LoggerMessage(2512, LogLevel.Error, "The receive step of the endpoint's owner failed on message at offset {Offset}; the message goes on without its changes")]
    public static partial void PrepareFailed(ILogger logger, Exception exception, long offset);

    [LoggerMessage(2510, LogLevel.Warning, "Nobody subscribed and {Max} messages are waiting: dropped the oldest, from {Sender} at offset {Offset}")]
    public static partial void BacklogFull(ILogger logger, string sender, long offset, int max);

    [LoggerMessage(2511, LogLevel.Error, "Message {FrameId} at offset {Offset} was not persisted, so it is neither delivered nor acknowledged")]
    public static partial void ReceiveNotPersisted(ILogger logger, Exception exception, string frameId, long offset);

    [LoggerMessage(2509, LogLevel.Warning, "Publishing one-time keys for {Address} failed; will retry on the next start or replenishment")]
    public static partial void OneTimeKeyPublishFailed(ILogger logger, Exception exception, string address);
}
