using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Self.Network.Http;
using Self.Protocol.Rest;

namespace Self.Network.Relay;

/// <summary>The <c>/v2/messaging</c> websocket (spec §6).</summary>
internal static class RelayEndpoint
{
    public const string Path = "/v2/messaging";

    public static void Map(IEndpointRouteBuilder endpoints) => endpoints.MapGet(Path, HandleAsync);

    private static async Task HandleAsync(HttpContext context)
    {
        var relay = context.RequestServices.GetRequiredService<RelayContext>();
        if (!context.WebSockets.IsWebSocketRequest)
        {
            relay.Metrics.HttpRequest(StatusCodes.Status400BadRequest);
            await Results.Json(
                new ErrorBody("This endpoint speaks websocket only: open it with a websocket upgrade.", ErrorCodes.BadRequest),
                RestJsonContext.Default.ErrorBody,
                statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        if (relay.Hub.IsStopping)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            // Real pings (not just unsolicited pongs) at least every PingInterval; a peer that stops answering is dropped.
            KeepAliveInterval = relay.Options.PingInterval,
            KeepAliveTimeout = relay.Options.PingInterval * 2,
            DangerousEnableCompression = false,
        }).ConfigureAwait(false);
        var session = new RelaySession(socket, relay, context.RequestAborted);
        await session.RunAsync().ConfigureAwait(false);
    }
}
