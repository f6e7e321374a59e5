using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Self.Protocol;
using Self.Sdk;
using Self.Sdk.Authentication;

namespace Self.AspNetCore;

/// <content>The Self scheme's login page (see <see cref="SelfAuthenticationHandler"/>).</content>
public sealed partial class SelfAuthenticationHandler
{
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
}
