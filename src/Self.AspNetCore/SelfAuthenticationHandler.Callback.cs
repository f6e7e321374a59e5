using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Self.Protocol;
using Self.Sdk;
using Self.Sdk.Authentication;

namespace Self.AspNetCore;

/// <content>The Self scheme's callback (see <see cref="SelfAuthenticationHandler"/>).</content>
public sealed partial class SelfAuthenticationHandler
{
    // ---- The callback ----

    private async Task CallbackAsync()
    {
        var resolved = await ResolveAsync();
        if (resolved.Refusal is { } refusal)
        {
            await RefuseAsync(refusal, resolved.State, resolved.Shown);
            return;
        }

        if (resolved.Ticket is not { } ticket)
        {
            // Still pending, or an outcome already answered (a redirect back to the login page).
            return;
        }

        var received = new TicketReceivedContext(Context, Scheme, Options, ticket) { ReturnUri = ticket.Properties.RedirectUri ?? "/" };
        await Events.TicketReceived(received);
        if (received.Result is { Handled: true })
        {
            return;
        }

        if (received.Result is { Skipped: true })
        {
            return;
        }

        if (received.Result is { Failure: { } failure })
        {
            await RefuseAsync(failure.Message, resolved.State);
            return;
        }

        await Context.SignInAsync(SignInScheme, received.Principal!, received.Properties);
        if (!string.IsNullOrEmpty(received.Properties!.RedirectUri))
        {
            received.ReturnUri = received.Properties.RedirectUri;
        }

        Response.Redirect(received.ReturnUri ?? "/");
    }

    private async Task<Resolution> ResolveAsync()
    {
        var state = ReadState(Request.Query[SelfLoginPage.StateField]);
        if (state is null || !state.IsRequest)
        {
            return Resolution.Refuse("the callback's state is missing, damaged or was not issued by this site");
        }

        var client = Client();
        var cid = state.ConversationId!;
        var now = Time.GetUtcNow();
        // The outcome comes inside the protected state when the instance that saw it minted this URL; otherwise ask.
        var response = state.Outcome ?? (await client.Authentication.GetStatusAsync(cid, Context.RequestAborted))?.Response;
        if (response is null)
        {
            if (now <= state.ExpiresAt!.Value)
            {
                // Not ended yet: back to the waiting page; nothing is used up.
                Response.Redirect(LoginUrl(state));
                return Resolution.Answered(state);
            }

            response = new AuthenticationResponse(AuthenticationStatus.Expired, state.SelfId ?? "-", null, cid, "no outcome before the expiry");
        }

        if (now > state.ExpiresAt!.Value + Options.CallbackGrace && response.Accepted)
        {
            return Resolution.Refuse("the sign-in state has expired", state);
        }

        // The correlation cookie ties the sign-in to the browser that started it (and is deleted on the way); checked
        // first, so that someone else holding the URL cannot use up the state of the person signing in.
        if (!ValidateCorrelationId(state.Properties))
        {
            return Resolution.Refuse("the sign-in was started in another browser, or its correlation cookie is missing", state);
        }

        // Single use: a state whose outcome was taken once is refused, here and on every instance sharing the cache.
        var cache = Context.RequestServices.GetRequiredService<IDistributedCache>();
        var usedKey = "Self.AspNetCore.used:" + Scheme.Name + ":" + cid;
        if (await cache.GetAsync(usedKey, Context.RequestAborted) is not null)
        {
            return Resolution.Refuse("the sign-in state was already used", state);
        }

        await cache.SetAsync(usedKey, [1], new DistributedCacheEntryOptions
        {
            AbsoluteExpirationRelativeToNow = (state.ExpiresAt.Value - now).Duration() + Options.CallbackGrace + Options.RemoteAuthenticationTimeout,
        }, Context.RequestAborted);

        Log.Ended(Logger, cid, response.Status.ToString());
        switch (response.Status)
        {
            case AuthenticationStatus.Accepted:
                return await AcceptAsync(state, response);
            case AuthenticationStatus.Rejected:
            {
                var context = new SelfOutcomeContext(Context, Scheme, Options, state.Properties, response);
                await Events.Rejected(context);
                return AfterOutcome(context, state, "rejected");
            }

            case AuthenticationStatus.Expired:
            {
                var context = new SelfOutcomeContext(Context, Scheme, Options, state.Properties, response);
                await Events.Expired(context);
                return AfterOutcome(context, state, "expired");
            }

            case AuthenticationStatus.Unauthorized:
                return Restart(state, "not_connected");
            default:
                return Restart(state, "errored");
        }
    }

    private async Task<Resolution> AcceptAsync(SignInState state, AuthenticationResponse response)
    {
        if (state.Flow == SignInState.Push && response.SelfId != state.SelfId)
        {
            return Resolution.Refuse($"the request to {state.SelfId} was answered by {response.SelfId}", state);
        }

        var properties = state.Properties;
        var authenticated = new SelfAuthenticatedContext(Context, Scheme, Options, properties, response);
        await Events.Authenticated(authenticated);
        if (authenticated.RefusedReason is { } reason)
        {
            return Resolution.Refuse("the app refused the sign-in: " + reason, state, reason);
        }

        var method = state.Flow == SignInState.Qr ? "qr" : "push";
        state.Clear();
        var issuer = ClaimsIssuer;
        var authTime = Time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var identity = new ClaimsIdentity(
            [
                new Claim(SelfClaimTypes.Subject, response.SelfId, ClaimValueTypes.String, issuer),
                new Claim(ClaimTypes.NameIdentifier, response.SelfId, ClaimValueTypes.String, issuer),
                new Claim(ClaimTypes.Name, response.SelfId, ClaimValueTypes.String, issuer),
                new Claim(SelfClaimTypes.Device, response.DeviceId ?? "", ClaimValueTypes.String, issuer),
                new Claim(SelfClaimTypes.AuthTime, authTime, ClaimValueTypes.Integer64, issuer),
                new Claim(SelfClaimTypes.Method, method, ClaimValueTypes.String, issuer),
            ],
            Scheme.Name,
            ClaimTypes.Name,
            ClaimTypes.Role);
        var principal = new ClaimsPrincipal(identity);
        var creating = new SelfCreatingTicketContext(Context, Scheme, Options, principal, properties, response);
        await Events.CreatingTicket(creating);
        Log.SignedIn(Logger, response.SelfId, response.ConversationId);
        return Resolution.Success(new AuthenticationTicket(creating.Principal!, creating.Properties, Scheme.Name), state);
    }

    private Resolution AfterOutcome(SelfOutcomeContext context, SignInState state, string outcome)
    {
        if (context.Result is { Handled: true } or { Skipped: true })
        {
            return Resolution.Answered(state);
        }

        if (context.Result is { Failure: { } failure })
        {
            return Resolution.Refuse(failure.Message, state);
        }

        return Restart(state, outcome);
    }

    /// <summary>Back to the login page with a fresh start (and correlation cookie), saying what happened.</summary>
    private Resolution Restart(SignInState state, string outcome)
    {
        var fresh = NewStart(state.Properties.Clone());
        Response.Redirect(QueryHelpers.AddQueryString(LoginUrl(fresh), OutcomeQuery, outcome));
        return Resolution.Answered(state);
    }
}
