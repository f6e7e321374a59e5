using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Self.Oidc.Bench;

/// <summary>The ping clients' <c>client_notification_endpoint</c>: Kestrel on 127.0.0.1, matching each ping to its flow by the bearer token.</summary>
internal sealed class PingReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<string>> _waiting = new();

    private PingReceiver(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;

    public static async Task<PingReceiver> StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Services.AddRouting();
        var app = builder.Build();
        var receiver = new PingReceiver(app);
        app.MapPost("/ping", async (HttpContext context) =>
        {
            var header = context.Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.Ordinal) || !receiver._waiting.TryRemove(header[7..], out var waiting))
            {
                return Results.Unauthorized();
            }

            using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            waiting.TrySetResult(body.RootElement.GetProperty("auth_req_id").GetString() ?? "");
            return Results.NoContent();
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Address = new Uri(new Uri(address), "/ping");
        return receiver;
    }

    /// <summary>The auth_req_id that the ping with bearer <paramref name="token"/> will carry.</summary>
    public Task<string> Expect(string token)
    {
        var waiting = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[token] = waiting;
        return waiting.Task;
    }

    public void Forget(string token) => _waiting.TryRemove(token, out _);

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
