using System.Reflection;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Self.Device;
using Self.Protocol;
using Self.Protocol.Identifiers;

namespace Self.Authenticator;

// The requests part of the AuthenticatorApp: the live event stream, accepting or rejecting a request, scanning a QR
// code or deep link.
internal sealed partial class AuthenticatorApp
{
    // ---- Requests --------------------------------------------------------------------------------------------

    private async Task EventsAsync(HttpContext context)
    {
        if (_device is null)
        {
            context.Response.StatusCode = 409;
            return;
        }

        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-store";
        var reader = _board.Subscribe(out var unsubscribe);
        try
        {
            await context.Response.WriteAsync(": open\n\n", context.RequestAborted).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            using var keepAlive = new PeriodicTimer(TimeSpan.FromSeconds(20), Time);
            var tick = keepAlive.WaitForNextTickAsync(context.RequestAborted).AsTask();
            while (!context.RequestAborted.IsCancellationRequested)
            {
                var next = reader.WaitToReadAsync(context.RequestAborted).AsTask();
                if (await Task.WhenAny(next, tick).ConfigureAwait(false) == tick)
                {
                    await context.Response.WriteAsync(": ping\n\n", context.RequestAborted).ConfigureAwait(false);
                    tick = keepAlive.WaitForNextTickAsync(context.RequestAborted).AsTask();
                }

                while (reader.TryRead(out var message))
                {
                    await context.Response.WriteAsync(message, context.RequestAborted).ConfigureAwait(false);
                }

                await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                if (next.IsCompletedSuccessfully && !next.Result)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The page went away.
        }
        finally
        {
            unsubscribe();
        }
    }

    private async Task<IResult> AnswerAsync(HttpContext context, string id, bool accept)
    {
        var wantsJson = context.Request.Headers.Accept.ToString().Contains("application/json", StringComparison.Ordinal);
        if (_device is null || _board.Find(id) is not { } item)
        {
            return Done(wantsJson, ok: false, "There is no such request (it may have been answered on another device).", "gone");
        }

        var request = item.Request;
        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false) : null;
        var number = form?["number"].ToString().Trim();
        string message;
        var ok = false;
        if (accept && await PassphraseProblemAsync(form?["passphrase"].ToString(), context.RequestAborted).ConfigureAwait(false) is { } problem)
        {
            // User verification is on and the passphrase is missing or wrong: nothing is sent, the request stays open.
            message = problem;
        }
        else
        {
            try
            {
                if (accept)
                {
                    await NumberMatching.AcceptAsync(request, number, context.RequestAborted).ConfigureAwait(false);
                    message = $"Accepted: {request.AppName ?? request.AppId} may sign you in.";
                }
                else
                {
                    await request.RejectAsync(context.RequestAborted).ConfigureAwait(false);
                    message = $"Rejected the request of {request.AppName ?? request.AppId}.";
                }

                ok = true;
                item.Error = null;
            }
            catch (RequestExpiredException)
            {
                message = "This request has expired: it can no longer be answered. Ask the app for a new one.";
            }
            catch (SelfException ex)
            {
                message = ex.Message;
            }
        }

        if (!ok)
        {
            item.Error = message;
        }

        _board.Refresh(item);
        return Done(wantsJson, ok, message, item.State(Time.GetUtcNow()));
    }

    private IResult Done(bool json, bool ok, string message, string state)
    {
        if (json)
        {
            return Results.Json(new AnswerResult(ok, message, state), BoardJson.Default.AnswerResult, statusCode: ok ? 200 : 409);
        }

        _flash = ok ? (message, null) : (null, message);
        return Results.Redirect("/");
    }

    private async Task<IResult> ScanAsync(HttpContext context)
    {
        if (_device is not { } device)
        {
            return Results.Redirect("/");
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var text = form["text"].ToString().Trim();
        var back = context.Request.Headers.Referer.ToString().Contains("/connections", StringComparison.Ordinal) ? "/connections" : "/";
        if (text.Length == 0 && form.Files.GetFile("image") is { Length: > 0 } file)
        {
            if (file.Length > QrImages.MaxUploadBytes)
            {
                return Fail(back, "The picture is larger than 4 MiB.");
            }

            using var buffer = new MemoryStream();
            await file.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            try
            {
                text = QrImages.Decode(buffer.ToArray())?.Trim() ?? string.Empty;
            }
            catch (InvalidDataException ex)
            {
                return Fail(back, ex.Message);
            }

            if (text.Length == 0)
            {
                return Fail(back, "No QR code could be read in that picture: try a sharper or larger one, or paste its text.");
            }
        }

        if (text.Length == 0)
        {
            return Fail(back, "Paste the QR code's text or a link, or choose a picture of the QR code.");
        }

        if (SelfIds.IsIdentityId(text))
        {
            return await ConnectByIdAsync(device, text, context.RequestAborted).ConfigureAwait(false);
        }

        try
        {
            var request = await device.ReadQrAsync(text, context.RequestAborted).ConfigureAwait(false);
            _board.Add(request);
            _flash = ($"A sign-in request from {request.AppName ?? request.AppId}: answer it below.", null);
            return Results.Redirect("/");
        }
        catch (InvalidRequestException asRequest)
        {
            try
            {
                var invitation = await device.ReadInvitationAsync(text, context.RequestAborted).ConfigureAwait(false);
                return Html(Pages.Invitation(Session.CsrfToken, device.SelfId, text, invitation));
            }
            catch (InvalidRequestException)
            {
                return Fail(back, "That is neither an app's sign-in request nor its invitation to connect. " + asRequest.Message);
            }
        }
        catch (RequestExpiredException)
        {
            return Fail(back, "That QR code or link has expired: ask the app for a new one.");
        }
        catch (SelfException ex)
        {
            return Fail(back, ex.Message);
        }
    }

    private IResult Fail(string back, string message)
    {
        _flash = (null, message);
        return Results.Redirect(back);
    }
}
