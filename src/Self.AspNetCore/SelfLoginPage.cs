namespace Self.AspNetCore;

/// <summary>Which screen the login page shows.</summary>
public enum SelfLoginStage
{
    /// <summary>Enter a Self ID (or choose the QR code); may carry a message about the last attempt.</summary>
    Enter,

    /// <summary>A request was pushed to the user's device; waiting for the approval (and showing the number to type).</summary>
    Waiting,

    /// <summary>A QR code for the user's phone to scan.</summary>
    QrCode,

    /// <summary>The user has not connected to this site yet: the invitation to scan or open first.</summary>
    NotConnected,

    /// <summary>The page cannot go on (forged or damaged state, a form from elsewhere); a link starts again.</summary>
    Error,
}

/// <summary>
/// Everything the login page shows. The built-in page draws it; an app that draws its own page
/// (<see cref="SelfAuthenticationOptions.RenderLoginPage"/>) posts <see cref="StateField"/>, <see cref="SelfIdField"/>,
/// <see cref="ModeField"/> (<c>push</c> or <c>qr</c>) and the antiforgery field to <see cref="FormAction"/>.
/// </summary>
public sealed record SelfLoginPage
{
    /// <summary>The form field that carries <see cref="State"/>.</summary>
    public const string StateField = "state";

    /// <summary>The form field with the Self ID the user typed.</summary>
    public const string SelfIdField = "selfId";

    /// <summary>The form field saying what to start: <c>push</c> (to the Self ID) or <c>qr</c> (a QR code).</summary>
    public const string ModeField = "mode";

    /// <summary>The screen to show.</summary>
    public required SelfLoginStage Stage { get; init; }

    /// <summary>The site's name.</summary>
    public required string SiteName { get; init; }

    /// <summary>Where the form posts (the login path).</summary>
    public required string FormAction { get; init; }

    /// <summary>The protected sign-in state to post back; empty on <see cref="SelfLoginStage.Error"/>.</summary>
    public required string State { get; init; }

    /// <summary>The antiforgery field's name.</summary>
    public string? AntiforgeryFieldName { get; init; }

    /// <summary>The antiforgery token to post.</summary>
    public string? AntiforgeryToken { get; init; }

    /// <summary>Where the page reads the live status (server-sent events or JSON); set while waiting.</summary>
    public string? StatusUrl { get; init; }

    /// <summary>Where the browser goes when nothing more can happen here (the callback, or the start of a new sign-in).</summary>
    public string? ContinueUrl { get; init; }

    /// <summary>The Self ID the user entered.</summary>
    public string? SelfId { get; init; }

    /// <summary>The number to type on the device (number matching); null when not asked.</summary>
    public string? Number { get; init; }

    /// <summary>The text shown both here and on the device.</summary>
    public string? BindingMessage { get; init; }

    /// <summary>When the request (or invitation) expires.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>A message about the last attempt (declined, expired, a mistyped id) or about the error.</summary>
    public string? Message { get; init; }

    /// <summary>The QR code (PNG, base64) of the sign-in request or of the invitation.</summary>
    public string? QrCodePng { get; init; }

    /// <summary>The text the QR code encodes.</summary>
    public string? QrCodePayload { get; init; }

    /// <summary>The invitation as a link a phone opens (on <see cref="SelfLoginStage.NotConnected"/>).</summary>
    public Uri? InvitationLink { get; init; }

    /// <summary>Whether the QR code is offered.</summary>
    public bool AllowQrCode { get; init; }
}
