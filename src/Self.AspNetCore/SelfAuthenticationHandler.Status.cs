using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Self.Protocol;
using Self.Sdk;
using Self.Sdk.Authentication;

namespace Self.AspNetCore;

/// <content>The Self scheme's status (see <see cref="SelfAuthenticationHandler"/>).</content>
public sealed partial class SelfAuthenticationHandler
{
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
}
