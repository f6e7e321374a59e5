using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Self.Oidc.Ciba;
using Self.Oidc.Storage;
using Self.Sdk;
using Self.Sdk.Authentication;

namespace Self.Oidc.Hosting;

/// <summary>
/// The provider's side of the Self network: one <see cref="SelfClient"/> of the provider's app. Answers from users end
/// CIBA requests (in the database, so any instance can redeem them); the login page (Self.AspNetCore's scheme) reads
/// the answers to its own requests from the same client.
/// </summary>
internal sealed class SelfGateway : IAsyncDisposable
{
    private readonly IDbContextFactory<OidcDbContext> _databases;
    private readonly PingSender _pings;
    private readonly ILogger _audit;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private IDisposable? _subscription;

    public SelfGateway(SelfClient client, IDbContextFactory<OidcDbContext> databases, PingSender pings, ILoggerFactory loggers, TimeProvider time)
    {
        Client = client;
        _databases = databases;
        _pings = pings;
        _time = time;
        _audit = loggers.CreateLogger(Audit.Category);
        _logger = loggers.CreateLogger<SelfGateway>();
    }

    public SelfClient Client { get; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Subscribed before start so that answers waiting in the inbox since the last run are not missed.
        _subscription = Client.Authentication.Subscribe(OnAnswerAsync);
        await Client.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends an authentication request to <paramref name="selfId"/>. Returns its conversation id, and the failure the
    /// network reported at once (the user does not exist or has not connected to the provider's app) or null when sent.
    /// The conversation id is the SDK's own, signed with the app's key (docs/app-devices.md), so that every instance of
    /// the provider accepts the answer as one to its app and can record it, not only the instance that sent it.
    /// </summary>
    public async Task<(string Cid, AuthenticationResponse? Failure)> SendAsync(string selfId, TimeSpan expiry, string? bindingMessage, string description, CancellationToken cancellationToken)
    {
        var cid = await Client.Authentication.SendAsync(
            selfId,
            new AuthenticationRequestOptions { Expiry = expiry, BindingMessage = bindingMessage, Description = description },
            cancellationToken).ConfigureAwait(false);

        // A send the network refused has already ended the request (Unauthorized or Errored) before SendAsync returned.
        var outcome = Client.Authentication.WaitForResponseAsync(cid, CancellationToken.None);
        if (outcome.IsCompletedSuccessfully && outcome.Result.DeviceId is null &&
            outcome.Result.Status is AuthenticationStatus.Unauthorized or AuthenticationStatus.Errored)
        {
            return (cid, outcome.Result);
        }

        return (cid, null);
    }

    /// <summary>
    /// Called once the request's row names <paramref name="cid"/>: an answer that arrived while it did not (the device
    /// answered within the send) is recorded now.
    /// </summary>
    public async Task CatchUpAsync(string cid, CancellationToken cancellationToken)
    {
        if ((await Client.Authentication.GetStatusAsync(cid, cancellationToken).ConfigureAwait(false))?.Response is { } response)
        {
            await RecordAsync(response).ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync()
    {
        // The client belongs to the container (the Self scheme uses it too) and is disposed by it.
        _subscription?.Dispose();
        return ValueTask.CompletedTask;
    }

    private async ValueTask OnAnswerAsync(AuthenticationResponse response) => await RecordAsync(response).ConfigureAwait(false);

    /// <summary>
    /// Records an answer on its CIBA request, once for all instances (a conditional update from pending). Every instance
    /// hears every answer; the one that holds the request's ping target sends the ping, whichever recorded it.
    /// </summary>
    private async Task RecordAsync(AuthenticationResponse response)
    {
        var status = response.Status switch
        {
            AuthenticationStatus.Accepted => CibaStatus.Accepted,
            AuthenticationStatus.Rejected => CibaStatus.Rejected,
            AuthenticationStatus.Expired => CibaStatus.Expired,
            _ => CibaStatus.Failed,
        };

        await using var db = await _databases.CreateDbContextAsync().ConfigureAwait(false);
        var request = await db.CibaRequests.FirstOrDefaultAsync(r => r.ConversationId == response.ConversationId).ConfigureAwait(false);
        if (request is null)
        {
            Log.AnswerUnmatched(_logger, response.ConversationId);
            return;
        }

        if (request.Status != CibaStatus.Pending)
        {
            PingIfHeld(request);
            return;
        }

        var now = _time.GetUtcNow();
        var updated = await db.CibaRequests
            .Where(r => r.Id == request.Id && r.Status == CibaStatus.Pending)
            .ExecuteUpdateAsync(s => s
                .SetProperty(r => r.Status, status)
                .SetProperty(r => r.DeviceId, response.DeviceId)
                .SetProperty(r => r.AuthenticatedAt, status == CibaStatus.Accepted ? now : null))
            .ConfigureAwait(false);
        if (updated > 0)
        {
            Audit.UserAnswer(_audit, request.Id, request.ClientId, request.SelfId, response.DeviceId ?? "-", status);
        }

        PingIfHeld(request);
    }

    /// <summary>Pings for a ping-mode request when this instance took it (only it holds the target; at most once).</summary>
    private void PingIfHeld(CibaRequestEntity request)
    {
        if (request.DeliveryMode == CibaModes.Ping)
        {
            _pings.Enqueue(request.Id);
        }
    }
}
