using System.Reflection;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Self.Device;
using Self.Protocol;

namespace Self.Authenticator;

// The connections part of the AuthenticatorApp: the list, invitations, connecting by app id, disconnecting.
internal sealed partial class AuthenticatorApp
{
    // ---- Connections -----------------------------------------------------------------------------------------

    private async Task<IResult> ConnectionsAsync(HttpContext context)
    {
        if (_device is not { } device)
        {
            return Results.Redirect("/");
        }

        var (notice, error) = TakeFlash();
        var permits = await device.GetConnectionsAsync(context.RequestAborted).ConfigureAwait(false);
        var rows = permits
            .Where(p => p.Expires > Time.GetUtcNow())
            .Select(p => (p.Source, Note: _local?.Connection(p.Source)))
            .Select(p => (p.Source, p.Note?.AppName, p.Note?.ConnectedAt))
            .ToList();
        return Html(Pages.Connections(Session.CsrfToken, device.SelfId, rows, notice, error));
    }

    private async Task<IResult> InvitationAsync(HttpContext context)
    {
        if (_device is not { } device)
        {
            return Results.Redirect("/");
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var text = form["text"].ToString();
        try
        {
            if (form["answer"] == "accept")
            {
                var invitation = await device.AcceptInvitationAsync(text, cancellationToken: context.RequestAborted).ConfigureAwait(false);
                _local?.NoteConnection(invitation.AppId, new ConnectionNote(Time.GetUtcNow(), invitation.AppName));
                _flash = ($"Connected to {invitation.AppName ?? invitation.AppId}: it may now ask you to sign in.", null);
            }
            else
            {
                var invitation = await device.DeclineInvitationAsync(text, context.RequestAborted).ConfigureAwait(false);
                _flash = ($"Declined the invitation of {invitation.AppName ?? invitation.AppId}.", null);
            }
        }
        catch (SelfException ex)
        {
            _flash = (null, ex.Message);
        }

        return Results.Redirect("/connections");
    }

    private async Task<IResult> ConnectByIdAsync(SelfDevice device, string appId, CancellationToken cancellationToken)
    {
        try
        {
            await device.ConnectAsync(appId, cancellationToken: cancellationToken).ConfigureAwait(false);
            _local?.NoteConnection(appId, new ConnectionNote(Time.GetUtcNow(), null));
            _flash = ($"Connected to app {appId}.", null);
        }
        catch (SelfException ex)
        {
            _flash = (null, ex.Message);
        }

        return Results.Redirect("/connections");
    }

    private async Task<IResult> DisconnectAsync(HttpContext context, string appId)
    {
        if (_device is not { } device)
        {
            return Results.Redirect("/");
        }

        try
        {
            await device.DisconnectAsync(appId, context.RequestAborted).ConfigureAwait(false);
            var name = _local?.Connection(appId)?.AppName;
            _local?.NoteConnection(appId, null);
            _flash = ($"Disconnected {name ?? appId}: it can no longer send you requests.", null);
        }
        catch (Exception ex) when (ex is SelfException or ArgumentException)
        {
            _flash = (null, ex.Message);
        }

        return Results.Redirect("/connections");
    }
}
