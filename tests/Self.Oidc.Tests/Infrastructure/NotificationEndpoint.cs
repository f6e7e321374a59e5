using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Self.Oidc.Tests.Infrastructure;

/// <summary>A ping client's client_notification_endpoint: a real HTTP server that records what it receives.</summary>
public sealed class NotificationEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _failuresLeft;

    private NotificationEndpoint(WebApplication app, int failFirst)
    {
        _app = app;
        _failuresLeft = failFirst;
    }

    public Uri Address { get; private set; } = null!;

    public ConcurrentQueue<(string? Authorization, string? AuthReqId, bool Answered)> Received { get; } = new();

    public static async Task<NotificationEndpoint> StartAsync(int failFirst = 0)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Services.AddRouting();
        var app = builder.Build();
        var endpoint = new NotificationEndpoint(app, failFirst);
        app.MapPost("/ciba/notify", async (HttpContext context) =>
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            var fail = Interlocked.Decrement(ref endpoint._failuresLeft) >= 0;
            endpoint.Received.Enqueue((context.Request.Headers.Authorization.ToString(), body.RootElement.GetProperty("auth_req_id").GetString(), !fail));
            return fail ? Results.StatusCode(503) : Results.NoContent();
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        endpoint.Address = new Uri(new Uri(address), "/ciba/notify");
        return endpoint;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
