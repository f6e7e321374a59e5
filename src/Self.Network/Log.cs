using Microsoft.Extensions.Logging;

namespace Self.Network;

/// <summary>Every log message of the server, with stable event ids. Tokens, keys and message contents never appear.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Self network listening on {Addresses}")]
    public static partial void Listening(ILogger logger, string addresses);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Generated a new admin token and saved it in {Path} (readable by this user only)")]
    public static partial void AdminTokenGenerated(ILogger logger, string path);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Using the admin token saved in {Path}")]
    public static partial void AdminTokenLoaded(ILogger logger, string path);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Data directory {Path}")]
    public static partial void DataDirectory(ILogger logger, string path);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Registry in {Registry}; inboxes in {Inboxes}")]
    public static partial void Backends(ILogger logger, string registry, string inboxes);

    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Registered {Type} identity {Id}")]
    public static partial void IdentityRegistered(ILogger logger, string type, string id);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Appended operation {Sequence} to the history of {Id}")]
    public static partial void HistoryAppended(ILogger logger, string id, long sequence);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Debug, Message = "{Method} {Path} refused with {Status} {Code}: {Reason}")]
    public static partial void RequestRefused(ILogger logger, string method, string path, int status, string code, string reason);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    public static partial void RequestFailed(ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(EventId = 1200, Level = LogLevel.Debug, Message = "Messaging connection authenticated as {Address}")]
    public static partial void Authenticated(ILogger logger, string address);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Debug, Message = "Messaging authentication refused: {Reason}")]
    public static partial void AuthenticationRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Connection of {Address} superseded by a newer one")]
    public static partial void Superseded(ILogger logger, string address);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Debug, Message = "Connection of {Address} closed ({Status})")]
    public static partial void ConnectionClosed(ILogger logger, string address, string status);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Warning, Message = "Connection of {Address} failed")]
    public static partial void ConnectionFailed(ILogger logger, string address, Exception exception);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Debug, Message = "Message from {Address} refused ({ErrType}): {Reason}")]
    public static partial void MessageRefused(ILogger logger, string address, string errType, string reason);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Information, Message = "Frame of {Size}+ bytes from {Address} is over the limit; closing")]
    public static partial void FrameTooLarge(ILogger logger, string address, long size);

    [LoggerMessage(EventId = 1207, Level = LogLevel.Error, Message = "Message from {Address} could not be stored")]
    public static partial void StoreFailed(ILogger logger, string address, Exception exception);

    [LoggerMessage(EventId = 1208, Level = LogLevel.Error, Message = "Skipped the message at offset {Offset} of {Address}: it cannot be delivered ({Reason})")]
    public static partial void UndeliverableSkipped(ILogger logger, string address, long offset, string reason);

    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "Retention dropped {Count} message(s) older than {Cutoff:O}")]
    public static partial void Pruned(ILogger logger, long count, DateTimeOffset cutoff);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Error, Message = "Retention sweep failed")]
    public static partial void PruneFailed(ILogger logger, Exception exception);
}
