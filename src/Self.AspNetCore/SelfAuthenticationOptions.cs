using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Self.Sdk.Authentication;

namespace Self.AspNetCore;

/// <summary>
/// Options of the Self authentication scheme: a remote scheme whose "remote" part is the user's device. A challenge
/// sends the browser to <see cref="LoginPath"/>; the user enters their Self ID (or scans a QR code) and approves on the
/// device; the browser then lands on <see cref="RemoteAuthenticationOptions.CallbackPath"/>, where the handler signs
/// the user in to <see cref="RemoteAuthenticationOptions.SignInScheme"/> (usually the cookie scheme) and redirects to
/// the page that asked.
/// </summary>
public class SelfAuthenticationOptions : RemoteAuthenticationOptions
{
    /// <summary>Creates the options with their defaults.</summary>
    public SelfAuthenticationOptions()
    {
        CallbackPath = SelfAuthenticationDefaults.CallbackPath;
        Events = new SelfAuthenticationEvents();
        // The correlation cookie binds a sign-in to the browser that started it. The callback is a same-site top-level
        // GET, so Lax is enough, and it must work on plain http during development.
        CorrelationCookie.SameSite = SameSiteMode.Lax;
        CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        RemoteAuthenticationTimeout = TimeSpan.FromMinutes(15);
    }

    /// <summary>Where the login page is served (GET) and where its form posts (POST).</summary>
    public PathString LoginPath { get; set; } = SelfAuthenticationDefaults.LoginPath;

    /// <summary>Where the login page reads the live status: server-sent events, or JSON when polled.</summary>
    public PathString StatusPath { get; set; } = SelfAuthenticationDefaults.StatusPath;

    /// <summary>How long the user has to approve on the device. At most 24 hours; 2 minutes by default.</summary>
    public TimeSpan Expiry { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Why the app asks, shown on the device; "Sign in to {app name}" when null.</summary>
    public string? Description { get; set; }

    /// <summary>A short text (at most 64 printable characters) shown both on the login page and on the device.</summary>
    public string? BindingMessage { get; set; }

    /// <summary>
    /// When true (the default), the login page shows a number that the user types on the device, so that a request
    /// pushed by someone else cannot be approved by a tap.
    /// </summary>
    public bool NumberMatching { get; set; } = true;

    /// <summary>When true (the default), the login page offers a QR code for users who would rather not type their Self ID.</summary>
    public bool AllowQrCode { get; set; } = true;

    /// <summary>The site's name on the login page; the app's name on the network when null.</summary>
    public string? SiteName { get; set; }

    /// <summary>How often the page's script polls when server-sent events are not available, and how often a status stream re-checks.</summary>
    public TimeSpan StatusPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long after the request's expiry the callback still accepts its state (the time for a browser to follow the
    /// last status event).
    /// </summary>
    public TimeSpan CallbackGrace { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Protects the sign-in state carried by the login page's URLs; built from data protection when null.</summary>
    public ISecureDataFormat<AuthenticationProperties> StateDataFormat { get; set; } = default!;

    /// <summary>
    /// Draws the login page instead of the built-in one; it gets everything the page shows. Write a complete HTML
    /// response; the page's form must post the fields named in <see cref="SelfLoginPage"/>.
    /// </summary>
    public Func<HttpContext, SelfLoginPage, Task>? RenderLoginPage { get; set; }

    /// <summary>The events the handler raises; assign handlers to its properties.</summary>
    public new SelfAuthenticationEvents Events
    {
        get => (SelfAuthenticationEvents)base.Events;
        set => base.Events = value;
    }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        Check(LoginPath, nameof(LoginPath));
        Check(StatusPath, nameof(StatusPath));
        if (LoginPath == CallbackPath || StatusPath == CallbackPath || LoginPath == StatusPath)
        {
            throw new ArgumentException("LoginPath, StatusPath and CallbackPath must be three different paths.", nameof(LoginPath));
        }

        if (Expiry <= TimeSpan.Zero || Expiry > Self.Sdk.Authentication.AuthenticationService.MaxExpiry)
        {
            throw new ArgumentException($"Expiry must be positive and at most 24 hours (it is {Expiry}).", nameof(Expiry));
        }

        if (StatusPollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("StatusPollInterval must be positive.", nameof(StatusPollInterval));
        }

        if (BindingMessage is { } binding && (binding.Length is 0 or > 64 || binding.Any(char.IsControl)))
        {
            throw new ArgumentException("BindingMessage must be 1 to 64 printable characters.", nameof(BindingMessage));
        }
    }

    private static void Check(PathString path, string name)
    {
        if (!path.HasValue)
        {
            throw new ArgumentException($"{name} must be a path such as '/signin-self'.", name);
        }
    }
}
