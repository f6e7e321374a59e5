using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Self.Sdk;

namespace Self.AspNetCore;

/// <summary>
/// The Self scheme. A challenge redirects to the login page; the page pushes a request to the Self ID the user enters
/// (or shows a QR code) and follows its status live; when the request ends, the browser goes to the callback, which
/// checks the single-use state and signs the user in to the sign-in scheme, or sends them back to the login page with
/// what happened. The page, its live status and the callback are partial files beside this one.
/// </summary>
public sealed partial class SelfAuthenticationHandler(
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
