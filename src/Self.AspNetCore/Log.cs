using Microsoft.Extensions.Logging;

namespace Self.AspNetCore;

/// <summary>Every log line of Self.AspNetCore, with stable event ids (range 4100–4199).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Self sign-in request {Cid} sent to {SelfId}")]
    public static partial void PushStarted(ILogger logger, string cid, string selfId);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Information, Message = "Self sign-in QR code {Cid} shown")]
    public static partial void QrStarted(ILogger logger, string cid);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "Self sign-in {Cid} ended: {Outcome}")]
    public static partial void Ended(ILogger logger, string cid, string outcome);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "Self sign-in refused at {Path}: {Reason}")]
    public static partial void Refused(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Warning, Message = "Self sign-in request to {SelfId} could not be sent: {Reason}")]
    public static partial void SendFailed(ILogger logger, string selfId, string reason);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Information, Message = "User {SelfId} signed in with Self (request {Cid})")]
    public static partial void SignedIn(ILogger logger, string selfId, string cid);
}
