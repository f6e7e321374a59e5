using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Self.Messaging;
using Self.Protocol.Identifiers;
using Self.Protocol.Links;
using Self.Protocol.Messages;
using Self.Sdk.QrCodes;

namespace Self.Sdk.Connections;

/// <summary>
/// Connection invitations (spec §7): a user receives nothing from an app until they connect to it. The app shows an
/// invitation as a QR code or deep link; the user's device stores a permit and answers; <see cref="UserConnected"/>
/// then fires with the user's Self ID.
/// </summary>
public sealed class ConnectionsService
{
    private static readonly TimeSpan ClockSkew = RequestRules.ClockSkew;

    private readonly SelfClient _client;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Invitation> _open = new(StringComparer.Ordinal);

    internal ConnectionsService(SelfClient client, ILogger logger)
    {
        _client = client;
        _logger = logger;
    }

    /// <summary>Raised when a user accepts one of this app's invitations.</summary>
    public event EventHandler<UserConnectedEventArgs>? UserConnected;

    /// <summary>Makes an invitation anyone may accept, valid for <paramref name="expiry"/> (default: the client's default expiry).</summary>
    /// <param name="description">Why the app wants to connect, shown by the device.</param>
    /// <param name="expiry">How long the invitation may be accepted; at most 24 hours.</param>
    /// <param name="callback">Where a phone returns after opening the deep link; the links base when null.</param>
    public ConnectionInvitation CreateInvitation(string? description = null, TimeSpan? expiry = null, Uri? callback = null)
    {
        var lifetime = expiry ?? _client.Options.DefaultExpiry;
        if (lifetime <= TimeSpan.Zero || lifetime > Authentication.AuthenticationService.MaxExpiry)
        {
            throw new ArgumentOutOfRangeException(nameof(expiry), lifetime, "An invitation's expiry must be positive and at most 24 hours.");
        }

        var now = _client.TimeProvider.GetUtcNow();
        var cid = Guid.NewGuid().ToString();
        var claims = new ConnectionRequestClaims
        {
            Typ = MessageTypes.ConnectionsRequest,
            Iss = _client.Options.AppId,
            Sub = "-",
            Aud = "-",
            Iat = now,
            Exp = now + lifetime,
            Cid = cid,
            Jti = Guid.NewGuid().ToString(),
            RequireConfirmation = true,
            DeviceId = _client.Options.DeviceId,
            AppName = _client.AppName,
            Description = description,
        };
        var json = SignedMessage.Sign(claims, _client.SigningKey).ToJson();
        var invitation = new Invitation(cid, now + lifetime);
        _open[cid] = invitation;
        return new ConnectionInvitation(
            new QrCode(json, cid),
            DeepLink.Build(_client.Options.LinksBaseUrl, callback ?? _client.Options.LinksBaseUrl, json),
            cid,
            now + lifetime);
    }

    /// <summary>Waits until a user accepts the invitation <paramref name="conversationId"/>; ends with
    /// <see cref="TimeoutException"/> when it expires first.</summary>
    public async Task<UserConnectedEventArgs> WaitForConnectionAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        if (!_open.TryGetValue(conversationId, out var invitation))
        {
            throw new ArgumentException($"No open invitation has conversation id '{conversationId}'.", nameof(conversationId));
        }

        var due = invitation.Expires - _client.TimeProvider.GetUtcNow();
        using var expired = new CancellationTokenSource(due > TimeSpan.Zero ? due : TimeSpan.Zero, _client.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expired.Token);
        try
        {
            return await invitation.Accepted.Task.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (expired.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Nobody accepted invitation {conversationId} before it expired at {invitation.Expires:u}.");
        }
    }

    internal ValueTask HandleAsync(ReceivedMessage message)
    {
        if (message.Type != MessageTypes.ConnectionsResponse)
        {
            return ValueTask.CompletedTask;
        }

        ConnectionResponseClaims claims;
        try
        {
            claims = SignedMessage.ReadClaims<ConnectionResponseClaims>(message.Jws);
        }
        catch (Exception ex) when (ex is Protocol.SelfException or System.Text.Json.JsonException)
        {
            Log.ConnectionResponseDropped(_logger, "unreadable claims: " + ex.Message, message.Sender.ToString());
            return ValueTask.CompletedTask;
        }

        var now = _client.TimeProvider.GetUtcNow();
        string? reason = null;
        if (claims.Cid is null || !_open.TryGetValue(claims.Cid, out var invitation))
        {
            reason = "cid names no open invitation";
            invitation = null;
        }
        else if (claims.Aud != _client.Options.AppId)
        {
            reason = "aud is not this app";
        }
        else if (claims.Iss != claims.Sub || claims.Iss != message.Sender.Id || !SelfIds.IsUserId(claims.Iss))
        {
            reason = "iss, sub and the sender differ";
        }
        else if (claims.Iat > now + ClockSkew || now > invitation.Expires)
        {
            reason = "outside the invitation's lifetime";
        }

        if (reason is not null || invitation is null)
        {
            Log.ConnectionResponseDropped(_logger, reason ?? "no invitation", message.Sender.ToString());
            return ValueTask.CompletedTask;
        }

        if (claims.Status == ResponseStatuses.Accepted)
        {
            var args = new UserConnectedEventArgs(claims.Iss, claims.DeviceId ?? message.Sender.Device, claims.Cid!);
            Log.UserConnected(_logger, claims.Iss, claims.Cid!);
            invitation.Accepted.TrySetResult(args);
            UserConnected?.Invoke(_client, args);
        }

        return ValueTask.CompletedTask;
    }

    private sealed class Invitation(string cid, DateTimeOffset expires)
    {
        public string ConversationId { get; } = cid;

        public DateTimeOffset Expires { get; } = expires;

        public TaskCompletionSource<UserConnectedEventArgs> Accepted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>An invitation to connect: the same signed request as a QR code and as a deep link.</summary>
/// <param name="QrCode">For a phone to scan.</param>
/// <param name="DeepLink">For a phone to open.</param>
/// <param name="ConversationId">Identifies the invitation in the answer.</param>
/// <param name="Expires">When it can no longer be accepted.</param>
public sealed record ConnectionInvitation(QrCode QrCode, Uri DeepLink, string ConversationId, DateTimeOffset Expires);

/// <summary>A user accepted an invitation.</summary>
/// <param name="SelfId">The user who connected.</param>
/// <param name="DeviceId">The device that answered.</param>
/// <param name="ConversationId">The invitation.</param>
public sealed record UserConnectedEventArgs(string SelfId, string DeviceId, string ConversationId);
