using Microsoft.Extensions.Logging;

namespace Self.Network.Nats;

/// <summary>Every log message of the NATS backend, with stable event ids. Message contents never appear.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6000, Level = LogLevel.Information, Message = "JetStream inboxes in stream {Stream} (subjects {Subjects}, {Replicas} replica(s), max age {MaxAge})")]
    public static partial void StreamReady(ILogger logger, string stream, string subjects, int replicas, TimeSpan maxAge);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Listening for inbox notifications on {Subjects}")]
    public static partial void NotifierListening(ILogger logger, string subjects);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Could not announce a new message for {Address} to the other instances")]
    public static partial void NotifyFailed(ILogger logger, string address, Exception exception);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Information, Message = "NATS connection (re)opened; {Count} local inbox(es) re-read in case a notification was missed")]
    public static partial void Reconnected(ILogger logger, int count);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning, Message = "A notification for {Subject} was dropped by the client; its inbox is re-read")]
    public static partial void NotificationDropped(ILogger logger, string subject);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Error, Message = "The inbox notification listener failed")]
    public static partial void NotifierFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Warning, Message = "Inbox message {Sequence} on {Subject} has no valid Self-Timestamp header; using its JetStream time")]
    public static partial void MissingTimestamp(ILogger logger, ulong sequence, string subject);

    [LoggerMessage(EventId = 6007, Level = LogLevel.Warning, Message = "Stream {Stream} did not answer a {Operation} (attempt {Attempt}: {Failure}); trying again")]
    public static partial void StreamCallRetried(ILogger logger, string stream, string operation, int attempt, string failure);

    [LoggerMessage(EventId = 6008, Level = LogLevel.Warning, Message = "Could not count inbox {Address}; its caps are not checked for this message")]
    public static partial void SizeUnknown(ILogger logger, string address, Exception exception);

    [LoggerMessage(EventId = 6010, Level = LogLevel.Information, Message = "Listening for connection claims on {Subjects} as instance {Instance}")]
    public static partial void ClaimsListening(ILogger logger, string subjects, string instance);

    [LoggerMessage(EventId = 6011, Level = LogLevel.Debug, Message = "The connection for {Subject} is superseded by a newer one on instance {Instance}")]
    public static partial void ClaimSuperseded(ILogger logger, string subject, string instance);

    [LoggerMessage(EventId = 6012, Level = LogLevel.Warning, Message = "Could not announce the connection claim {Subject} to the other instances")]
    public static partial void ClaimAnnounceFailed(ILogger logger, string subject, Exception exception);

    [LoggerMessage(EventId = 6013, Level = LogLevel.Warning, Message = "Ignored a malformed connection claim on {Subject}")]
    public static partial void ClaimMalformed(ILogger logger, string subject);

    [LoggerMessage(EventId = 6014, Level = LogLevel.Information, Message = "NATS connection (re)opened; {Count} connection claim(s) announced again")]
    public static partial void ClaimsAnnouncedAgain(ILogger logger, int count);

    [LoggerMessage(EventId = 6015, Level = LogLevel.Error, Message = "The connection claim listener failed")]
    public static partial void ClaimsListenerFailed(ILogger logger, Exception exception);
}
