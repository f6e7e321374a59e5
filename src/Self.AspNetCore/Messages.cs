namespace Self.AspNetCore;

/// <summary>The words the login page uses for each situation, in one place.</summary>
internal static class Messages
{
    public const string PageExpired = "This sign-in page had expired. Please try again.";
    public const string FormExpired = "The form expired or did not come from this site. Please try again.";
    public const string NotASelfId = "That is not a Self ID. A Self ID has 10 or 11 digits, such as 1112223334.";
    public const string Unavailable = "Sign-in with Self is not available right now. Please try again in a moment.";
    public const string Rejected = "The sign-in was declined on your device. If that was a mistake, try again.";
    public const string Expired = "The request expired before it was approved. Try again.";
    public const string NotConnected = "Your device has not connected to this site yet. Connect first, then try again.";
    public const string Errored = "The request could not reach your device. Please try again.";
    public const string QrReloaded = "Waiting for your phone. If you have not scanned the code yet, start again to get a new one.";
    public const string Refused = "This sign-in link is not valid: it was already used, has expired, or did not come from this site.";

    public static string UnknownSelfId(string selfId) => $"No one has the Self ID {selfId}. Check the number and try again.";

    public static string? ForOutcome(string outcome) => outcome switch
    {
        "rejected" => Rejected,
        "expired" => Expired,
        "not_connected" => NotConnected,
        "errored" => Errored,
        _ => null,
    };
}
