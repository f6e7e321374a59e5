namespace Self.Sdk.Authentication;

/// <summary>
/// A request that <see cref="AuthenticationService.StartAsync"/> has sent: what the app shows on its sign-in screen
/// while it waits (<see cref="AuthenticationService.WaitForResponseAsync"/> or a subscription) for the outcome.
/// </summary>
/// <param name="ConversationId">The request's conversation id (<c>cid</c>).</param>
/// <param name="Number">
/// The 2-digit number to show, which the person types on their device (number matching, spec §9a); null when the
/// request does not use number matching. Never sent to the device.
/// </param>
/// <param name="ExpiresAt">When the request ends as <see cref="AuthenticationStatus.Expired"/> if nobody answers.</param>
public sealed record AuthenticationChallenge(string ConversationId, string? Number, DateTimeOffset ExpiresAt);
