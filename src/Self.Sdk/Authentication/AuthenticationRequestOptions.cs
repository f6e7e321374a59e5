namespace Self.Sdk.Authentication;

/// <summary>Per-request choices; every calling style takes them.</summary>
public sealed record AuthenticationRequestOptions
{
    /// <summary>The conversation id to use instead of a fresh UUID (at most 128 characters).</summary>
    public string? ConversationId { get; init; }

    /// <summary>How long the request stays open; the client's default expiry when null. At most 24 hours.</summary>
    public TimeSpan? Expiry { get; init; }

    /// <summary>Why the app asks, shown to the user.</summary>
    public string? Description { get; init; }

    /// <summary>A short text (at most 64 printable characters) shown both by the app and the device, so the person can match them.</summary>
    public string? BindingMessage { get; init; }

    /// <summary>
    /// Number matching (spec §9a): the SDK picks a 2-digit number that the app shows on its sign-in screen; the person
    /// types it on the device, and only an answer carrying that number counts as accepted. Null takes
    /// <see cref="SelfClientOptions.NumberMatching"/>. Needs <see cref="AuthenticationService.StartAsync"/>, which
    /// returns the number; the other styles refuse it, since the app could not show the number. QR codes and deep
    /// links ignore it: whoever scans the app's screen already sees it.
    /// </summary>
    public bool? NumberMatching { get; init; }
}
