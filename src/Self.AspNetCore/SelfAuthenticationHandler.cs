using System.Globalization;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Self.Protocol;
using Self.Sdk;
using Self.Sdk.Authentication;

namespace Self.AspNetCore;

/// <summary>
/// The Self scheme. A challenge redirects to the login page; the page pushes a request to the Self ID the user enters
/// (or shows a QR code) and follows its status live; when the request ends, the browser goes to the callback, which
/// checks the single-use state and signs the user in to the sign-in scheme, or sends them back to the login page with
/// what happened.
/// </summary>
public sealed class SelfAuthenticationHandler(
    IOptionsMonitor<SelfAuthenticationOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : RemoteAuthenticationHandler<SelfAuthenticationOptions>(options, logger, encoder)
{
    private const string OutcomeQuery = "outcome";
    private const string CssFile = "/self.css";
    private const string ScriptFile = "/self.js";

    private new SelfAuthenticationEvents Events => (SelfAuthenticationEvents)base.Events;

    private TimeProvider Time => Options.TimeProvider ?? Context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System;

    /// <inheritdoc />
    protected override Task<object> CreateEventsAsync() => Task.FromResult<object>(new SelfAuthenticationEvents());

    /// <inheritdoc />
    public override async Task<bool> HandleRequestAsync()
    {
        var path = Request.Path;
        if (path == Options.LoginPath)
        {
            if (HttpMethods.IsPost(Request.Method))
            {
                await StartAsync();
            }
            else if (HttpMethods.IsGet(Request.Method) || HttpMethods.IsHead(Request.Method))
            {
                await ShowAsync();
            }
            else
            {
                Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                Response.Headers.Allow = "GET, HEAD, POST";
            }

            return true;
        }

        if (path == Options.StatusPath)
        {
            await StatusAsync();
            return true;
        }

        if (path == Options.CallbackPath)
        {
            await CallbackAsync();
            return true;
        }

        if (path == Options.LoginPath.Add(CssFile))
        {
            await LoginPageRenderer.WriteAssetAsync(Context, "self.css", "text/css; charset=utf-8");
            return true;
        }

        if (path == Options.LoginPath.Add(ScriptFile))
        {
            await LoginPageRenderer.WriteAssetAsync(Context, "self.js", "text/javascript; charset=utf-8");
            return true;
        }

        return false;
    }

    /// <summary>Sends the browser to the login page with a fresh, protected sign-in state.</summary>
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (string.IsNullOrEmpty(properties.RedirectUri))
        {
            properties.RedirectUri = OriginalPathBase + OriginalPath + Request.QueryString;
        }

        var state = NewStart(properties);
        Response.Redirect(LoginUrl(state));
        return Task.CompletedTask;
    }

    /// <summary>Resolves the callback's state into a ticket; the callback itself is answered by <see cref="HandleRequestAsync"/>.</summary>
    protected override async Task<HandleRequestResult> HandleRemoteAuthenticateAsync()
    {
        var resolved = await ResolveAsync();
        return resolved.Ticket is { } ticket ? HandleRequestResult.Success(ticket) : HandleRequestResult.Fail(resolved.Refusal ?? "The sign-in did not complete.");
    }

    // ---- The login page ----

    private async Task ShowAsync()
    {
        var state = ReadState(Request.Query[SelfLoginPage.StateField]);
        if (state is null)
        {
            if (!string.IsNullOrEmpty(Request.Query[SelfLoginPage.StateField]))
            {
                await RefuseAsync("the login page's state is damaged or was not issued by this site");
                return;
            }

            // Opened directly: a sign-in that returns to the site's root.
            state = NewStart(new AuthenticationProperties { RedirectUri = OriginalPathBase.HasValue ? OriginalPathBase.Value : "/" });
            await RenderAsync(Page(state, SelfLoginStage.Enter));
            return;
        }

        if (IsPastDeadline(state))
        {
            await RenderAsync(Page(NewStart(state.Properties), SelfLoginStage.Enter, message: Messages.PageExpired));
            return;
        }

        if (!state.IsRequest)
        {
            var outcome = Request.Query[OutcomeQuery].ToString();
            await RenderAsync(Page(state, SelfLoginStage.Enter, message: Messages.ForOutcome(outcome)));
            return;
        }

        var view = await DescribeAsync(state);
        if (view.Terminal)
        {
            Response.Redirect(view.Next!);
            return;
        }

        var stage = state.Flow == SignInState.Qr ? SelfLoginStage.QrCode : SelfLoginStage.Waiting;
        await RenderAsync(Page(state, stage) with
        {
            SelfId = state.SelfId,
            Number = state.Number,
            ExpiresAt = state.ExpiresAt,
            StatusUrl = StatusUrl(state),
            ContinueUrl = LoginUrl(state),
            Message = stage == SelfLoginStage.QrCode ? Messages.QrReloaded : null,
        });
    }

    private async Task StartAsync()
    {
        var form = await Request.ReadFormAsync(Context.RequestAborted);
        var state = ReadState(form[SelfLoginPage.StateField]);
        if (state is null)
        {
            await RefuseAsync("the form's state is missing, damaged or was not issued by this site");
            return;
        }

        var antiforgery = Context.RequestServices.GetRequiredService<IAntiforgery>();
        if (!await antiforgery.IsRequestValidAsync(Context))
        {
            Log.Refused(Logger, Request.Path, "antiforgery token missing or invalid");
            await RenderAsync(Page(state, SelfLoginStage.Enter, message: Messages.FormExpired), StatusCodes.Status400BadRequest);
            return;
        }

        if (IsPastDeadline(state))
        {
            await RenderAsync(Page(NewStart(state.Properties), SelfLoginStage.Enter, message: Messages.PageExpired));
            return;
        }

        var mode = form[SelfLoginPage.ModeField].ToString();
        if (mode == "restart")
        {
            await RenderAsync(Page(state, SelfLoginStage.Enter));
            return;
        }

        var client = Client();
        if (mode == SignInState.Qr && Options.AllowQrCode)
        {
            await StartQrAsync(client, state);
            return;
        }

        var selfId = new string([.. form[SelfLoginPage.SelfIdField].ToString().Where(c => !char.IsWhiteSpace(c) && c != '-')]);
        if (selfId.Length is < 10 or > 11 || !selfId.All(char.IsAsciiDigit))
        {
            await RenderAsync(
                Page(state, SelfLoginStage.Enter, message: Messages.NotASelfId) with { SelfId = form[SelfLoginPage.SelfIdField].ToString() },
                StatusCodes.Status400BadRequest);
            return;
        }

        var requestOptions = new AuthenticationRequestOptions
        {
            Expiry = Options.Expiry,
            Description = Description(client),
            BindingMessage = Options.BindingMessage,
        };
        AuthenticationRequestState? sent;
        string cid;
        string? number;
        try
        {
            (cid, number) = await PushAsync(client, selfId, requestOptions);
            sent = await client.Authentication.GetStatusAsync(cid, Context.RequestAborted);
        }
        catch (NotConnectedException)
        {
            await RenderNotConnectedAsync(client, state, selfId);
            return;
        }
        catch (UnknownIdentityException ex)
        {
            Log.SendFailed(Logger, selfId, ex.Message);
            await RenderAsync(Page(state, SelfLoginStage.Enter, message: Messages.UnknownSelfId(selfId)) with { SelfId = selfId }, StatusCodes.Status400BadRequest);
            return;
        }
        catch (Exception ex) when (ex is SelfException or TimeoutException or InvalidOperationException or HttpRequestException)
        {
            Log.SendFailed(Logger, selfId, ex.Message);
            await RenderAsync(Page(state, SelfLoginStage.Enter, message: Messages.Unavailable) with { SelfId = selfId }, StatusCodes.Status503ServiceUnavailable);
            return;
        }

        // StartAsync reports delivery failures as the outcome, not as an exception: look before showing "waiting".
        switch (sent?.Response?.Status)
        {
            case AuthenticationStatus.Unauthorized:
                await RenderNotConnectedAsync(client, state, selfId);
                return;
            case AuthenticationStatus.Errored:
                Log.SendFailed(Logger, selfId, sent.Response.Reason ?? "not delivered");
                var message = sent.Response.Reason?.Contains("exists", StringComparison.OrdinalIgnoreCase) == true ? Messages.UnknownSelfId(selfId) : Messages.Unavailable;
                await RenderAsync(Page(state, SelfLoginStage.Enter, message: message) with { SelfId = selfId }, StatusCodes.Status400BadRequest);
                return;
        }

        Log.PushStarted(Logger, cid, selfId);
        var waiting = state.WithRequest(SignInState.Push, cid, selfId, number, sent?.ExpiresAt ?? Time.GetUtcNow() + Options.Expiry);
        // Post/redirect/get: the waiting page can be reloaded, and its URL carries everything another instance needs.
        Response.Redirect(LoginUrl(waiting));
        Response.StatusCode = StatusCodes.Status303SeeOther;
    }

    private async Task<(string Cid, string? Number)> PushAsync(SelfClient client, string selfId, AuthenticationRequestOptions requestOptions)
    {
        var challenge = await client.Authentication.StartAsync(
            selfId, requestOptions with { NumberMatching = Options.NumberMatching }, Context.RequestAborted);
        return (challenge.ConversationId, challenge.Number);
    }

    private async Task StartQrAsync(SelfClient client, SignInState state)
    {
        QrCodeView qr;
        try
        {
            var code = await client.Authentication.GenerateQrCodeAsync(new AuthenticationRequestOptions
            {
                Expiry = Options.Expiry,
                Description = Description(client),
                BindingMessage = Options.BindingMessage,
            }, Context.RequestAborted);
            var status = await client.Authentication.GetStatusAsync(code.ConversationId, Context.RequestAborted);
            qr = new QrCodeView(code.ConversationId, Convert.ToBase64String(code.ToPng(8)), code.Payload, status?.ExpiresAt ?? Time.GetUtcNow() + Options.Expiry);
        }
        catch (Exception ex) when (ex is SelfException or InvalidOperationException or HttpRequestException)
        {
            Log.SendFailed(Logger, "-", ex.Message);
            await RenderAsync(Page(state, SelfLoginStage.Enter, message: Messages.Unavailable), StatusCodes.Status503ServiceUnavailable);
            return;
        }

        Log.QrStarted(Logger, qr.Cid);
        var waiting = state.WithRequest(SignInState.Qr, qr.Cid, selfId: null, number: null, qr.Expires);
        await RenderAsync(Page(waiting, SelfLoginStage.QrCode) with
        {
            QrCodePng = qr.Png,
            QrCodePayload = qr.Payload,
            ExpiresAt = qr.Expires,
            StatusUrl = StatusUrl(waiting),
            ContinueUrl = LoginUrl(waiting),
        });
    }

    private async Task RenderNotConnectedAsync(SelfClient client, SignInState state, string selfId)
    {
        Log.SendFailed(Logger, selfId, "the user has not connected to the app");
        var invitation = client.Connections.CreateInvitation(
            $"Connect to {SiteName(client)} to sign in with Self", Options.RemoteAuthenticationTimeout);
        await RenderAsync(Page(state, SelfLoginStage.NotConnected) with
        {
            SelfId = selfId,
            QrCodePng = Convert.ToBase64String(invitation.QrCode.ToPng(8)),
            QrCodePayload = invitation.QrCode.Payload,
            InvitationLink = invitation.DeepLink,
            ExpiresAt = invitation.Expires,
        });
    }

    // ---- Live status ----

    private async Task StatusAsync()
    {
        var state = ReadState(Request.Query[SelfLoginPage.StateField]);
        if (state is null || !state.IsRequest)
        {
            Log.Refused(Logger, Request.Path, "status asked with a missing, damaged or foreign state");
            Response.StatusCode = StatusCodes.Status400BadRequest;
            await Response.WriteAsJsonAsync(new StatusView("invalid", null, null, null, true), StatusJson.Default.StatusView, cancellationToken: Context.RequestAborted);
            return;
        }

        NoStore();
        var accept = Request.Headers.Accept.ToString();
        if (!accept.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            await Response.WriteAsJsonAsync(await DescribeAsync(state), StatusJson.Default.StatusView, cancellationToken: Context.RequestAborted);
            return;
        }

        Response.ContentType = "text/event-stream";
        Response.Headers["X-Accel-Buffering"] = "no";
        Context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var aborted = Context.RequestAborted;
        var retry = (int)Options.StatusPollInterval.TotalMilliseconds;
        await Response.WriteAsync($"retry: {retry.ToString(CultureInfo.InvariantCulture)}\n\n", aborted);
        try
        {
            var client = Client();
            var cid = state.ConversationId!;
            while (!aborted.IsCancellationRequested)
            {
                var view = await DescribeAsync(state);
                await Response.WriteAsync("event: status\ndata: " + JsonSerializer.Serialize(view, StatusJson.Default.StatusView) + "\n\n", aborted);
                await Response.Body.FlushAsync(aborted);
                if (view.Terminal)
                {
                    return;
                }

                // Wake up when the answer arrives here; re-check on a timer too, for an answer that another instance
                // received, for the expiry, and to keep proxies from closing an idle stream.
                using var round = CancellationTokenSource.CreateLinkedTokenSource(aborted);
                var wake = Task.Delay(Options.StatusPollInterval * 5, Time, round.Token);
                Task answered;
                try
                {
                    answered = client.Authentication.WaitForResponseAsync(cid, round.Token);
                }
                catch (ArgumentException)
                {
                    answered = Task.Delay(Options.StatusPollInterval, Time, round.Token);
                }

                await Task.WhenAny(wake, answered);
                var woken = answered.IsCompleted;
                await round.CancelAsync();
                if (!woken)
                {
                    await Response.WriteAsync(": waiting\n\n", aborted);
                }
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The page went away.
        }
    }

    private async Task<StatusView> DescribeAsync(SignInState state)
    {
        var now = Time.GetUtcNow();
        var cid = state.ConversationId!;
        var status = await Client().Authentication.GetStatusAsync(cid, Context.RequestAborted);
        var response = status?.Response;
        if (response is null && now > state.ExpiresAt!.Value)
        {
            // Unknown here (ended long ago, or asked on another instance whose outcome is not shared): it has expired.
            response = new AuthenticationResponse(AuthenticationStatus.Expired, state.SelfId ?? "-", null, cid, "no outcome before the expiry");
        }

        if (response is null)
        {
            return new StatusView("waiting", state.Number, state.ExpiresAt, null, false);
        }

        var next = CallbackUrl(state.WithOutcome(response));
        return new StatusView(StatusName(response.Status), null, null, next, true);
    }

    private static string StatusName(AuthenticationStatus status) => status switch
    {
        AuthenticationStatus.Accepted => "accepted",
        AuthenticationStatus.Rejected => "rejected",
        AuthenticationStatus.Expired => "expired",
        AuthenticationStatus.Unauthorized => "not_connected",
        _ => "errored",
    };

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

    // ---- Helpers ----

    private SignInState NewStart(AuthenticationProperties properties)
    {
        var state = SignInState.NewStart(properties, Time.GetUtcNow() + Options.RemoteAuthenticationTimeout);
        GenerateCorrelationId(state.Properties);
        return state;
    }

    private bool IsPastDeadline(SignInState state) => state.Deadline is not { } deadline || Time.GetUtcNow() > deadline;

    private SignInState? ReadState(string? protectedState)
    {
        if (string.IsNullOrEmpty(protectedState))
        {
            return null;
        }

        var properties = Options.StateDataFormat.Unprotect(protectedState);
        return properties is null ? null : new SignInState(properties);
    }

    private string Protect(SignInState state) => Options.StateDataFormat.Protect(state.Properties);

    private string LoginUrl(SignInState state) =>
        QueryHelpers.AddQueryString(OriginalPathBase + Options.LoginPath, SelfLoginPage.StateField, Protect(state));

    private string StatusUrl(SignInState state) =>
        QueryHelpers.AddQueryString(OriginalPathBase + Options.StatusPath, SelfLoginPage.StateField, Protect(state));

    private string CallbackUrl(SignInState state) =>
        QueryHelpers.AddQueryString(OriginalPathBase + Options.CallbackPath, SelfLoginPage.StateField, Protect(state));

    private SelfClient Client()
    {
        try
        {
            return Context.RequestServices.GetService<SelfClient>()
                ?? throw new InvalidOperationException("The Self scheme needs a SelfClient: call services.AddSelfClient(...) as well.");
        }
        catch (ArgumentException ex)
        {
            throw new InvalidOperationException("The SelfClient cannot be built: " + ex.Message, ex);
        }
    }

    private string SiteName(SelfClient client) => Options.SiteName ?? client.AppName ?? Request.Host.Host;

    private string Description(SelfClient client) => Options.Description ?? $"Sign in to {SiteName(client)}";

    private SelfLoginPage Page(SignInState state, SelfLoginStage stage, string? message = null)
    {
        var tokens = Context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(Context);
        SelfClient? client;
        try
        {
            client = Context.RequestServices.GetService<SelfClient>();
        }
        catch (ArgumentException)
        {
            client = null;
        }

        return new SelfLoginPage
        {
            Stage = stage,
            SiteName = client is null ? Options.SiteName ?? Request.Host.Host : SiteName(client),
            FormAction = OriginalPathBase + Options.LoginPath,
            State = Protect(state),
            AntiforgeryFieldName = tokens.FormFieldName,
            AntiforgeryToken = tokens.RequestToken,
            Message = message,
            BindingMessage = Options.BindingMessage,
            AllowQrCode = Options.AllowQrCode,
        };
    }

    private async Task RefuseAsync(string reason, SignInState? state = null, string? shown = null)
    {
        Log.Refused(Logger, Request.Path, reason);
        var restart = state?.Properties.RedirectUri is { Length: > 0 } back && back.StartsWith('/') && !back.StartsWith("//", StringComparison.Ordinal)
            ? back
            : (OriginalPathBase.HasValue ? OriginalPathBase.Value : "/");
        await RenderAsync(new SelfLoginPage
        {
            Stage = SelfLoginStage.Error,
            SiteName = Options.SiteName ?? Request.Host.Host,
            FormAction = OriginalPathBase + Options.LoginPath,
            State = "",
            Message = shown ?? Messages.Refused,
            ContinueUrl = restart,
        }, StatusCodes.Status400BadRequest);
    }

    private async Task RenderAsync(SelfLoginPage page, int statusCode = StatusCodes.Status200OK)
    {
        Response.StatusCode = statusCode;
        NoStore();
        Response.Headers.XFrameOptions = "DENY";
        Response.Headers["Referrer-Policy"] = "no-referrer";
        Response.Headers.ContentSecurityPolicy =
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        if (Options.RenderLoginPage is { } custom)
        {
            await custom(Context, page);
            return;
        }

        Response.ContentType = "text/html; charset=utf-8";
        if (!HttpMethods.IsHead(Request.Method))
        {
            await Response.WriteAsync(LoginPageRenderer.Render(page, OriginalPathBase + Options.LoginPath), Context.RequestAborted);
        }
    }

    private void NoStore()
    {
        Response.Headers.CacheControl = "no-store";
        Response.Headers.Pragma = "no-cache";
    }

    private sealed record QrCodeView(string Cid, string Png, string Payload, DateTimeOffset Expires);

    private sealed record Resolution(AuthenticationTicket? Ticket, string? Refusal, SignInState? State, string? Shown = null)
    {
        public static Resolution Success(AuthenticationTicket ticket, SignInState state) => new(ticket, null, state);

        public static Resolution Refuse(string reason, SignInState? state = null, string? shown = null) => new(null, reason, state, shown);

        public static Resolution Answered(SignInState state) => new(null, null, state);
    }
}

/// <summary>What the status endpoint reports (JSON, and the data of each server-sent event).</summary>
/// <param name="Status">waiting, accepted, rejected, expired, not_connected, errored or invalid.</param>
/// <param name="Number">The number to type on the device while waiting, when number matching is on.</param>
/// <param name="ExpiresAt">When the request expires, while waiting.</param>
/// <param name="Next">Where the browser goes once the request ended (the callback).</param>
/// <param name="Terminal">True when nothing more will change.</param>
internal sealed record StatusView(string Status, string? Number, DateTimeOffset? ExpiresAt, string? Next, bool Terminal);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StatusView))]
internal sealed partial class StatusJson : JsonSerializerContext;
