namespace Self.Sdk.Authentication;

/// <summary>Where one authentication request stands, as <see cref="AuthenticationService.GetStatusAsync"/> reports it.</summary>
/// <param name="ConversationId">The request's conversation id.</param>
/// <param name="SelfId">The user asked, or <c>-</c> for a QR code or deep link anyone may answer (until answered).</param>
/// <param name="ExpiresAt">When a pending request expires; null once it ended.</param>
/// <param name="Response">The outcome once the request ended; null while it is pending.</param>
public sealed record AuthenticationRequestState(string ConversationId, string SelfId, DateTimeOffset? ExpiresAt, AuthenticationResponse? Response)
{
    /// <summary>True while no answer has come and the request has not expired.</summary>
    public bool IsPending => Response is null;
}
