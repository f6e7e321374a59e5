using Self.Protocol;

namespace Self.Sdk;

/// <summary>
/// The user has not connected to the app, so the network refuses to carry the app's requests to them. The user must
/// connect first (scan the app's invitation, or <c>self user connect APP_ID</c>).
/// </summary>
public sealed class NotConnectedException(string selfId, string appId, Exception? innerException = null)
    : SelfException(
        "not_connected",
        $"User {selfId} has not connected to app {appId}: the user must connect to the app before it can ask them to authenticate.",
        innerException)
{
    /// <summary>The user asked.</summary>
    public string SelfId { get; } = selfId;

    /// <summary>The app that asked.</summary>
    public string AppId { get; } = appId;
}

/// <summary>No identity with this Self ID exists on the network.</summary>
public sealed class UnknownIdentityException(string selfId, Exception? innerException = null)
    : SelfException("unknown_identity", $"No user with Self ID {selfId} exists on this network.", innerException)
{
    /// <summary>The id that was looked up.</summary>
    public string SelfId { get; } = selfId;
}

/// <summary>The network refused the app's own key: the secret is wrong, revoked, or belongs to another app.</summary>
public sealed class InvalidSecretKeyException(string appId, string reason, Exception? innerException = null)
    : SelfException("invalid_secret_key", $"The network refused the secret key of app {appId}: {reason}. Check SelfClientOptions.AppSecret.", innerException)
{
    /// <summary>The app whose key was refused.</summary>
    public string AppId { get; } = appId;
}
