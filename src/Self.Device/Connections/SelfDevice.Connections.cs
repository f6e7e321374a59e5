using System.Net;
using Self.Messaging;
using Self.Protocol;
using Self.Protocol.Frames;
using Self.Protocol.Identifiers;
using Self.Protocol.Messages;
using Self.Protocol.Rest;

namespace Self.Device;

// Connections (spec §7): the user receives nothing from an app until this device stores a signed permit for it.
public sealed partial class SelfDevice
{
    /// <summary>How long a connection lasts when <see cref="ConnectAsync"/> is not told: ten years.</summary>
    public static readonly TimeSpan DefaultConnectionLapse = TimeSpan.FromDays(3650);

    // The permit JWS itself is checked once, when the network stores it.
    private static readonly TimeSpan PermitValidity = TimeSpan.FromMinutes(5);

    // Other devices of the user may connect or disconnect apps; what this device saw is trusted this long.
    private static readonly TimeSpan ConnectionsMaxAge = TimeSpan.FromSeconds(30);

    private ConnectionsSnapshot? _connections;

    /// <summary>
    /// Connects the user to an app: stores a permit (<c>acl.permit</c>, signed by this device) with the network, so the
    /// app may reach the user's devices and ask them to authenticate.
    /// </summary>
    /// <param name="appId">The app (or <c>*</c>: every app).</param>
    /// <param name="lapse">How long the connection lasts; <see cref="DefaultConnectionLapse"/> when null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="UnknownAppException">No app has this id on the network.</exception>
    public async Task ConnectAsync(string appId, TimeSpan? lapse = null, CancellationToken cancellationToken = default)
    {
        CheckSource(appId);
        var duration = lapse ?? DefaultConnectionLapse;
        if (duration <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(lapse), lapse, "A connection must last a positive time.");
        }

        var session = Session;
        if (appId != "*")
        {
            await AppNameAsync(session, appId, requireExisting: true, cancellationToken).ConfigureAwait(false);
        }

        var now = _time.GetUtcNow();
        var permit = SignedMessage.Sign(AclClaimsFor(MessageTypes.AclPermit, appId, now, now + duration), session.Key);
        await session.Endpoint.Rest.PermitConnectionAsync(permit, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _connections, null);
        Log.Connected(_logger, SelfId, appId, now + duration);
    }

    /// <summary>The user's connections in force, as the network holds them (from every device of the user).</summary>
    public async Task<IReadOnlyList<ConnectionPermit>> GetConnectionsAsync(CancellationToken cancellationToken = default) =>
        (await RefreshConnectionsAsync(Session, cancellationToken).ConfigureAwait(false)).Permits;

    /// <summary>
    /// Disconnects the user from an app: withdraws the permit (<c>acl.revoke</c>, signed by this device). The network then
    /// refuses the app's messages to the user, and this device answers any of its requests still in the inbox
    /// <c>unauthorized</c>.
    /// </summary>
    /// <exception cref="SelfApiException">404: the user has no connection with the app in force.</exception>
    public async Task DisconnectAsync(string appId, CancellationToken cancellationToken = default)
    {
        CheckSource(appId);
        var session = Session;
        var now = _time.GetUtcNow();
        var revoke = SignedMessage.Sign(AclClaimsFor(MessageTypes.AclRevoke, appId, now, now), session.Key);
        try
        {
            await session.Endpoint.Rest.RevokeConnectionAsync(appId, revoke, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _connections, null);
        }

        Log.Disconnected(_logger, SelfId, appId);
    }

    /// <summary>
    /// Reads an app's invitation to connect (<c>identities.connections.req</c>) from a scanned QR code or a deep link and
    /// checks it (signed by the app's key valid at <c>iat</c>, for anyone or this user, not expired, at most 24 hours
    /// long, not answered before), without answering it.
    /// </summary>
    /// <exception cref="InvalidRequestException">It is not a valid invitation; the message says which check failed.</exception>
    /// <exception cref="RequestExpiredException">It has expired.</exception>
    public async Task<AppInvitation> ReadInvitationAsync(string qrOrDeepLink, CancellationToken cancellationToken = default) =>
        (await ReadInvitationCoreAsync(qrOrDeepLink, cancellationToken).ConfigureAwait(false)).Invitation;

    /// <summary>
    /// Accepts an app's invitation (QR payload or deep link): checks it, connects the user to the app
    /// (<see cref="ConnectAsync"/>) and answers <c>accepted</c> to the app.
    /// </summary>
    /// <exception cref="InvalidRequestException">It is not a valid invitation; the message says which check failed.</exception>
    /// <exception cref="RequestExpiredException">It has expired.</exception>
    public async Task<AppInvitation> AcceptInvitationAsync(string qrOrDeepLink, TimeSpan? lapse = null, CancellationToken cancellationToken = default)
    {
        var (invitation, claims) = await ReadInvitationCoreAsync(qrOrDeepLink, cancellationToken).ConfigureAwait(false);
        await ConnectAsync(invitation.AppId, lapse, cancellationToken).ConfigureAwait(false);
        await AnswerInvitationAsync(claims, ResponseStatuses.Accepted, cancellationToken).ConfigureAwait(false);
        return invitation;
    }

    /// <summary>Declines an app's invitation (QR payload or deep link): checks it and answers <c>rejected</c>; nothing is connected.</summary>
    /// <exception cref="InvalidRequestException">It is not a valid invitation; the message says which check failed.</exception>
    /// <exception cref="RequestExpiredException">It has expired.</exception>
    public async Task<AppInvitation> DeclineInvitationAsync(string qrOrDeepLink, CancellationToken cancellationToken = default)
    {
        var (invitation, claims) = await ReadInvitationCoreAsync(qrOrDeepLink, cancellationToken).ConfigureAwait(false);
        await AnswerInvitationAsync(claims, ResponseStatuses.Rejected, cancellationToken).ConfigureAwait(false);
        return invitation;
    }

    private async Task<(AppInvitation Invitation, ConnectionRequestClaims Claims)> ReadInvitationCoreAsync(string qrOrDeepLink, CancellationToken cancellationToken)
    {
        var session = Session;
        var (jws, claims, _) = ReadCarried<ConnectionRequestClaims>(qrOrDeepLink, MessageTypes.ConnectionsRequest);
        await CheckCarriedAsync(session, jws, claims, cancellationToken).ConfigureAwait(false);
        var name = claims.AppName ?? await AppNameAsync(session, claims.Iss, requireExisting: false, cancellationToken).ConfigureAwait(false);
        return (new AppInvitation(claims.Iss, name, claims.Description, claims.Cid!, claims.Exp), claims);
    }

    private async Task AnswerInvitationAsync(ConnectionRequestClaims invitation, string status, CancellationToken cancellationToken)
    {
        var session = Session;
        var now = _time.GetUtcNow();
        if (now >= invitation.Exp)
        {
            throw new RequestExpiredException(invitation.Iss, invitation.Cid!, invitation.Exp);
        }

        var answer = SignedMessage.Sign(
            new ConnectionResponseClaims
            {
                Typ = MessageTypes.ConnectionsResponse,
                Iss = SelfId,
                Sub = SelfId,
                Aud = invitation.Iss,
                Iat = now,
                Exp = invitation.Exp,
                Cid = invitation.Cid,
                Jti = Guid.NewGuid().ToString(),
                Status = status,
                DeviceId = DeviceId,
            },
            session.Key);
        await session.Endpoint.SendAsync(invitation.Iss, answer, MsgSubType.Unknown, priority: 0, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        await MarkSeenAsync(session, invitation).ConfigureAwait(false);
        Log.InvitationAnswered(_logger, invitation.Cid!, invitation.Iss, status);
    }

    /// <summary>True when the user has a connection in force with <paramref name="appId"/> (or with every app).</summary>
    private async Task<bool> IsConnectedAsync(DeviceSession session, string appId, CancellationToken cancellationToken)
    {
        var snapshot = Volatile.Read(ref _connections);
        var fresh = false;
        if (snapshot is null || _time.GetUtcNow() - snapshot.FetchedAt > ConnectionsMaxAge)
        {
            snapshot = await RefreshConnectionsAsync(session, cancellationToken).ConfigureAwait(false);
            fresh = true;
        }

        if (snapshot.Allows(appId, _time.GetUtcNow()))
        {
            return true;
        }

        if (!fresh)
        {
            // Connected from another device since the last look?
            snapshot = await RefreshConnectionsAsync(session, cancellationToken).ConfigureAwait(false);
        }

        return snapshot.Allows(appId, _time.GetUtcNow());
    }

    private async Task<ConnectionsSnapshot> RefreshConnectionsAsync(DeviceSession session, CancellationToken cancellationToken)
    {
        var permits = await session.Endpoint.Rest.GetConnectionsAsync(cancellationToken).ConfigureAwait(false);
        var snapshot = new ConnectionsSnapshot(permits, _time.GetUtcNow());
        Volatile.Write(ref _connections, snapshot);
        return snapshot;
    }

    /// <summary>The app's name as the network knows it (cached); null when it cannot be had, unless <paramref name="requireExisting"/>.</summary>
    private async Task<string?> AppNameAsync(DeviceSession session, string appId, bool requireExisting, CancellationToken cancellationToken)
    {
        if (_appNames.TryGetValue(appId, out var known))
        {
            return known;
        }

        try
        {
            var app = await session.Endpoint.Rest.GetAppAsync(appId, cancellationToken).ConfigureAwait(false);
            var name = string.IsNullOrWhiteSpace(app.Name) ? null : app.Name;
            _appNames[appId] = name;
            return name;
        }
        catch (SelfApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return requireExisting ? throw new UnknownAppException(appId, ex) : null;
        }
        catch (Exception ex) when (!requireExisting && ex is Protocol.SelfException)
        {
            return null;
        }
    }

    private AclClaims AclClaimsFor(string type, string source, DateTimeOffset now, DateTimeOffset lapses) => new()
    {
        Typ = type,
        Iss = SelfId,
        Sub = SelfId,
        Iat = now,
        Exp = now + PermitValidity,
        Jti = Guid.NewGuid().ToString(),
        AclSource = source,
        AclExp = lapses,
    };

    private static void CheckSource(string appId)
    {
        ArgumentException.ThrowIfNullOrEmpty(appId);
        if (appId != "*" && !SelfIds.IsIdentityId(appId))
        {
            throw new ArgumentException($"'{appId}' is not an app id (32 lowercase hex characters).", nameof(appId));
        }
    }

    private sealed record ConnectionsSnapshot(IReadOnlyList<ConnectionPermit> Permits, DateTimeOffset FetchedAt)
    {
        public bool Allows(string appId, DateTimeOffset now) =>
            Permits.Any(p => (p.Source == appId || p.Source == "*") && p.Expires > now);
    }
}
