namespace Self.Sdk.Authentication;

/// <summary>The outcome of one authentication request.</summary>
/// <param name="Status">How it ended.</param>
/// <param name="SelfId">The user who answered, or who was asked when nobody answered.</param>
/// <param name="DeviceId">The device that answered; null when none did.</param>
/// <param name="ConversationId">The request's conversation id (<c>cid</c>).</param>
/// <param name="Reason">Why it ended this way when that is not obvious (expiry, delivery failure).</param>
public sealed record AuthenticationResponse(
    AuthenticationStatus Status,
    string SelfId,
    string? DeviceId,
    string ConversationId,
    string? Reason = null)
{
    /// <summary>True when the user approved.</summary>
    public bool Accepted => Status == AuthenticationStatus.Accepted;
}
