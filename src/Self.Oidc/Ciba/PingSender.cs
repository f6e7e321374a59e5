using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Self.Oidc.Ciba;

/// <summary>
/// Ping delivery (CIBA §10.2): when a user answers, POSTs <c>{"auth_req_id": …}</c> to the client's notification
/// endpoint with its <c>client_notification_token</c> as bearer token. Runs in the background — a slow or failing
/// endpoint never holds up the flow — and retries with doubling back-off on the injected clock. The targets are kept in
/// memory by the instance that took the request (the <c>auth_req_id</c> is not stored in the database).
/// </summary>
internal sealed class PingSender(HttpClient http, SelfOidcOptions options, ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, PingTarget> _targets = new();
    private readonly ConcurrentDictionary<Task, byte> _running = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger = loggers.CreateLogger<PingSender>();
    private readonly ILogger _audit = loggers.CreateLogger(Audit.Category);

    public void Register(string requestId, PingTarget target) => _targets[requestId] = target;

    public void Forget(string requestId) => _targets.TryRemove(requestId, out _);

    public void Enqueue(string requestId)
    {
        if (!_targets.TryRemove(requestId, out var target))
        {
            return;
        }

        var task = Task.Run(() => SendAsync(requestId, target, _stopping.Token));
        _running[task] = 0;
        task.ContinueWith(t => _running.TryRemove(t, out _), TaskScheduler.Default);
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_running.Keys).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping: pings not yet delivered are given up.
        }

        _stopping.Dispose();
    }

    private async Task SendAsync(string requestId, PingTarget target, CancellationToken cancellationToken)
    {
        var delay = options.PingFirstRetryDelay;
        for (var attempt = 1; attempt <= options.PingAttempts; attempt++)
        {
            string reason;
            try
            {
                using var message = new HttpRequestMessage(HttpMethod.Post, target.Endpoint)
                {
                    Content = new StringContent(
                        JsonSerializer.Serialize(new Dictionary<string, string> { ["auth_req_id"] = target.AuthReqId }),
                        Encoding.UTF8,
                        "application/json"),
                };
                message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", target.NotificationToken);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                using var response = await http.SendAsync(message, timeout.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    Audit.Ping(_audit, target.ClientId, requestId, "delivered");
                    return;
                }

                reason = $"HTTP {(int)response.StatusCode}";
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
            {
                reason = ex.Message;
            }

            Log.PingFailed(_logger, target.Endpoint.ToString(), requestId, attempt, options.PingAttempts, reason);
            if (attempt < options.PingAttempts)
            {
                await Task.Delay(delay, options.TimeProvider, cancellationToken).ConfigureAwait(false);
                delay += delay;
            }
        }

        Audit.Ping(_audit, target.ClientId, requestId, "given_up");
    }
}

/// <summary>Where and how to ping for one request.</summary>
internal sealed record PingTarget(string ClientId, Uri Endpoint, string NotificationToken, string AuthReqId)
{
    public override string ToString() => $"PingTarget({ClientId}, {Endpoint})";
}
