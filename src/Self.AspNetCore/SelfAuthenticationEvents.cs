using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Self.Sdk.Authentication;

namespace Self.AspNetCore;

/// <summary>
/// The events of the Self scheme, as <c>Func&lt;TContext, Task&gt;</c> properties in the style of ASP.NET Core's own
/// handlers. Each runs once per sign-in, at the callback, whose state is single-use.
/// </summary>
public class SelfAuthenticationEvents : RemoteAuthenticationEvents
{
    /// <summary>The user approved on the device; call <see cref="SelfAuthenticatedContext.Refuse"/> to refuse the sign-in anyway.</summary>
    public Func<SelfAuthenticatedContext, Task> OnAuthenticated { get; set; } = _ => Task.CompletedTask;

    /// <summary>The ticket is being built: add claims to <see cref="SelfCreatingTicketContext.Identity"/>.</summary>
    public Func<SelfCreatingTicketContext, Task> OnCreatingTicket { get; set; } = _ => Task.CompletedTask;

    /// <summary>The user declined on the device. Unless handled, the browser goes back to the login page, which says so.</summary>
    public Func<SelfOutcomeContext, Task> OnRejected { get; set; } = _ => Task.CompletedTask;

    /// <summary>Nobody approved in time. Unless handled, the browser goes back to the login page, which says so.</summary>
    public Func<SelfOutcomeContext, Task> OnExpired { get; set; } = _ => Task.CompletedTask;

    /// <summary>Raises <see cref="OnAuthenticated"/>.</summary>
    public virtual Task Authenticated(SelfAuthenticatedContext context) => OnAuthenticated(context);

    /// <summary>Raises <see cref="OnCreatingTicket"/>.</summary>
    public virtual Task CreatingTicket(SelfCreatingTicketContext context) => OnCreatingTicket(context);

    /// <summary>Raises <see cref="OnRejected"/>.</summary>
    public virtual Task Rejected(SelfOutcomeContext context) => OnRejected(context);

    /// <summary>Raises <see cref="OnExpired"/>.</summary>
    public virtual Task Expired(SelfOutcomeContext context) => OnExpired(context);
}

/// <summary>The user approved the sign-in on their device.</summary>
public sealed class SelfAuthenticatedContext(
    HttpContext context, AuthenticationScheme scheme, SelfAuthenticationOptions options, AuthenticationProperties properties, AuthenticationResponse response)
    : PropertiesContext<SelfAuthenticationOptions>(context, scheme, options, properties)
{
    /// <summary>The device's answer: who approved, from which device.</summary>
    public AuthenticationResponse Answer { get; } = response;

    /// <summary>Why the sign-in was refused, when <see cref="Refuse"/> was called.</summary>
    public string? RefusedReason { get; private set; }

    /// <summary>Refuses the sign-in although the device approved (e.g. the account is blocked); the reason is shown to the user.</summary>
    public void Refuse(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        RefusedReason = reason;
    }
}

/// <summary>The ticket of an approved sign-in is being built.</summary>
public sealed class SelfCreatingTicketContext : PrincipalContext<SelfAuthenticationOptions>
{
    /// <summary>Creates the context around the principal being signed in.</summary>
    public SelfCreatingTicketContext(
        HttpContext context, AuthenticationScheme scheme, SelfAuthenticationOptions options, ClaimsPrincipal principal,
        AuthenticationProperties properties, AuthenticationResponse response)
        : base(context, scheme, options, properties)
    {
        Principal = principal;
        Answer = response;
    }

    /// <summary>The device's answer.</summary>
    public AuthenticationResponse Answer { get; }

    /// <summary>The identity being built: <c>sub</c>, NameIdentifier, Name, the device and <c>auth_time</c> are already there.</summary>
    public ClaimsIdentity Identity => (ClaimsIdentity)Principal!.Identity!;
}

/// <summary>A sign-in ended without approval (declined or expired).</summary>
public sealed class SelfOutcomeContext(
    HttpContext context, AuthenticationScheme scheme, SelfAuthenticationOptions options, AuthenticationProperties properties, AuthenticationResponse response)
    : HandleRequestContext<SelfAuthenticationOptions>(context, scheme, options)
{
    /// <summary>The state of the sign-in: where the user was going (<see cref="AuthenticationProperties.RedirectUri"/>).</summary>
    public AuthenticationProperties Properties { get; } = properties;

    /// <summary>How it ended.</summary>
    public AuthenticationResponse Answer { get; } = response;
}
