namespace Self.AspNetCore;

/// <summary>Default values of the Self authentication scheme.</summary>
public static class SelfAuthenticationDefaults
{
    /// <summary>The scheme's default name.</summary>
    public const string AuthenticationScheme = "Self";

    /// <summary>The scheme's default display name.</summary>
    public const string DisplayName = "Self";

    /// <summary>Where the login page is served (GET) and a sign-in is started (POST).</summary>
    public const string LoginPath = "/signin-self";

    /// <summary>Where the login page reads the live status (server-sent events, or JSON for polling).</summary>
    public const string StatusPath = "/signin-self/status";

    /// <summary>Where the browser lands when the request ended; the handler signs the user in there.</summary>
    public const string CallbackPath = "/signin-self/callback";
}

/// <summary>The claim types the handler issues besides <see cref="System.Security.Claims.ClaimTypes.NameIdentifier"/> and <see cref="System.Security.Claims.ClaimTypes.Name"/>.</summary>
public static class SelfClaimTypes
{
    /// <summary>The user's Self ID (OpenID Connect's subject claim).</summary>
    public const string Subject = "sub";

    /// <summary>The id of the user's device that approved the sign-in.</summary>
    public const string Device = "self_device";

    /// <summary>When the user approved, in seconds since 1970-01-01 UTC (OpenID Connect's <c>auth_time</c>).</summary>
    public const string AuthTime = "auth_time";

    /// <summary>How the user signed in: <c>push</c> (Self ID entered) or <c>qr</c> (QR code scanned).</summary>
    public const string Method = "self_method";
}
