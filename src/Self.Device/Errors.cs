using Self.Protocol;

namespace Self.Device;

/// <summary>The Self ID asked for at registration belongs to someone else.</summary>
public sealed class SelfIdTakenException(string selfId, Exception? innerException = null)
    : SelfException("self_id_taken", $"The Self ID {selfId} is already registered on this network: choose another, or let the network pick one.", innerException)
{
    /// <summary>The id that was asked for.</summary>
    public string SelfId { get; } = selfId;
}

/// <summary>The storage folder holds no device identity (never registered there, or the wrong folder).</summary>
public sealed class DeviceNotFoundException(string storageDirectory, string? reason = null)
    : SelfException(
        "device_not_found",
        reason ?? $"No Self device is stored in {storageDirectory}: register one with SelfDevice.RegisterAsync (or enroll or recover one) first.")
{
    /// <summary>The folder that was looked in.</summary>
    public string StorageDirectory { get; } = storageDirectory;
}

/// <summary>The storage folder already holds a device, which registering, enrolling or recovering there would overwrite.</summary>
public sealed class DeviceAlreadyExistsException(string storageDirectory)
    : SelfException(
        "device_exists",
        $"{storageDirectory} already holds a Self device: open it with SelfDevice.OpenAsync, or use an empty folder.")
{
    /// <summary>The folder.</summary>
    public string StorageDirectory { get; } = storageDirectory;
}

/// <summary>This device's key is no longer valid in the identity's history: the device was revoked (or the identity recovered elsewhere).</summary>
public sealed class DeviceRevokedException(string selfId, string deviceId, string reason, Exception? innerException = null)
    : SelfException("device_revoked", $"Device {deviceId} of {selfId} can no longer act for the identity: {reason}", innerException)
{
    /// <summary>The identity.</summary>
    public string SelfId { get; } = selfId;

    /// <summary>The device.</summary>
    public string DeviceId { get; } = deviceId;
}

/// <summary>The request can no longer be answered: its <c>exp</c> has passed.</summary>
public sealed class RequestExpiredException(string appId, string conversationId, DateTimeOffset expiredAt)
    : SelfException(
        "request_expired",
        $"The request {conversationId} of app {appId} expired at {expiredAt:u}; it can no longer be answered. Ask the app to send a new one.")
{
    /// <summary>The app that asked.</summary>
    public string AppId { get; } = appId;

    /// <summary>The request's conversation id.</summary>
    public string ConversationId { get; } = conversationId;

    /// <summary>When it expired.</summary>
    public DateTimeOffset ExpiredAt { get; } = expiredAt;
}

/// <summary>The request was already answered (by this device, or by its consent policy).</summary>
public sealed class RequestAlreadyAnsweredException(string conversationId, string status)
    : SelfException("request_already_answered", $"The request {conversationId} was already answered ({status}).")
{
    /// <summary>The request's conversation id.</summary>
    public string ConversationId { get; } = conversationId;
}

/// <summary>A QR code, deep link or invitation is not a valid signed request of an app (the message says which check failed).</summary>
public sealed class InvalidRequestException(string reason, Exception? innerException = null)
    : SelfException("invalid_request", $"The request is not acceptable: {reason}.", innerException)
{
    /// <summary>Which check failed.</summary>
    public string Reason { get; } = reason;
}

/// <summary>No app with this id exists on the network.</summary>
public sealed class UnknownAppException(string appId, Exception? innerException = null)
    : SelfException("unknown_app", $"No app with id {appId} exists on this network: check the id the app's operator gave you.", innerException)
{
    /// <summary>The id that was looked up.</summary>
    public string AppId { get; } = appId;
}

/// <summary>Recovering the identity failed: the recovery key is not the identity's active one, or the network refused it.</summary>
public sealed class RecoveryFailedException(string selfId, string reason, Exception? innerException = null)
    : SelfException("recovery_failed", $"Recovering {selfId} failed: {reason}", innerException)
{
    /// <summary>The identity.</summary>
    public string SelfId { get; } = selfId;
}

/// <summary>
/// The request uses number matching (spec §9a) and was accepted without the number, or with digits that are not the
/// number the app shows. Nothing was sent; after <see cref="MaxAttempts"/> wrong numbers the device rejects the
/// request by itself, so that the number cannot be found by trying.
/// </summary>
public sealed class NumberMismatchException(string conversationId, int attemptsLeft, string message)
    : SelfException("number_mismatch", message)
{
    /// <summary>Wrong numbers a request tolerates before the device rejects it.</summary>
    public const int MaxAttempts = 3;

    /// <summary>The request's conversation id.</summary>
    public string ConversationId { get; } = conversationId;

    /// <summary>How many more tries the person has; 0 when the device has rejected the request.</summary>
    public int AttemptsLeft { get; } = attemptsLeft;
}
