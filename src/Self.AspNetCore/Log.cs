using Microsoft.Extensions.Logging;

namespace Self.AspNetCore;

/// <summary>Every log line of Self.AspNetCore, with stable event ids (range 4100–4199).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 8101, Level = LogLevel.Information, Message = "Self sign-in request {Cid} sent to {SelfId}")]
    public static partial void PushStarted(ILogger logger, string cid, string selfId);

    [LoggerMessage(EventId = 8102, Level = LogLevel.Information, Message = "Self sign-in QR code {Cid} shown")]
    public static partial void QrStarted(ILogger logger, string cid);

    [LoggerMessage(EventId = 8103, Level = LogLevel.Information, Message = "Self sign-in {Cid} ended: {Outcome}")]
    public static partial void Ended(ILogger logger, string cid, string outcome);

    [LoggerMessage(EventId = 8104, Level = LogLevel.Warning, Message = "Self sign-in refused at {Path}: {Reason}")]
    public static partial void Refused(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 8105, Level = LogLevel.Warning, Message = "Self sign-in request to {SelfId} could not be sent: {Reason}")]
    public static partial void SendFailed(ILogger logger, string selfId, string reason);

    [LoggerMessage(EventId = 8106, Level = LogLevel.Information, Message = "User {SelfId} signed in with Self (request {Cid})")]
    public static partial void SignedIn(ILogger logger, string selfId, string cid);
}
