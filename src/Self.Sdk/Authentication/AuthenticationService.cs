using System.Net;
using Microsoft.Extensions.Logging;
using Self.Messaging;
using Self.Protocol;
using Self.Protocol.Frames;
using Self.Protocol.Identifiers;
using Self.Protocol.Jws;
using Self.Protocol.Links;
using Self.Protocol.Messages;
using Self.Sdk.QrCodes;

namespace Self.Sdk.Authentication;

/// <summary>
/// Authentication by Self ID, in three styles that share one mechanism:
/// <list type="bullet">
/// <item><b>blocking</b> — <see cref="RequestAsync(string, AuthenticationRequestOptions?, CancellationToken)"/> returns when
/// the user answers or the request expires;</item>
/// <item><b>non-blocking</b> — <see cref="RequestAsync(string, Action{AuthenticationResponse}, AuthenticationRequestOptions?, CancellationToken)"/>
/// returns once the request is sent and runs the callback exactly once with the outcome;</item>
/// <item><b>asynchronous</b> — <see cref="SendAsync"/> returns the conversation id at once; the outcome arrives at
/// <see cref="Subscribe(Action{AuthenticationResponse})"/> handlers and <see cref="Responses"/>, which outlive the call and any reconnect.</item>
/// </list>
/// Every outcome, whatever the style, also reaches the subscribers. An answer that never comes ends as
/// <see cref="AuthenticationStatus.Expired"/> in every style.
/// </summary>
public sealed class AuthenticationService
{
    /// <summary>Devices refuse requests whose expiry is further away than this (spec §10).</summary>
    public static readonly TimeSpan MaxExpiry = RequestRules.MaxRequestLifetime;

    private const int MaxBindingMessageLength = RequestRules.MaxBindingMessageLength;
    private const int MaxDescriptionLength = 1024;

    private readonly SelfClient _client;
    private readonly RequestTracker _tracker;
    private readonly ILogger _logger;

    internal AuthenticationService(SelfClient client, RequestTracker tracker, ILogger logger)
    {
        _client = client;
        _tracker = tracker;
        _logger = logger;
    }

    /// <summary>
    /// Blocking style: asks <paramref name="selfId"/> to authenticate and returns when the user answers or the request
    /// expires (status <see cref="AuthenticationStatus.Expired"/>).
    /// </summary>
    /// <exception cref="NotConnectedException">The user has not connected to this app.</exception>
    /// <exception cref="UnknownIdentityException">No user has this Self ID.</exception>
    /// <exception cref="RateLimitedException">The network limits requests to this user; see its RetryAfter.</exception>
    /// <exception cref="ServerUnreachableException">The network could not be reached after the configured retries.</exception>
    public async Task<AuthenticationResponse> RequestAsync(
        string selfId, AuthenticationRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        RefuseNumberMatching(options);
        var pending = await OpenAndSendAsync(selfId, options, number: null, callback: null, throwOnFailure: true, cancellationToken).ConfigureAwait(false);
        return await pending.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Non-blocking style: sends the request and returns its conversation id as soon as the network has stored it;
    /// <paramref name="callback"/> runs exactly once with the outcome — including <see cref="AuthenticationStatus.Unauthorized"/>
    /// when the user has not connected, <see cref="AuthenticationStatus.Errored"/> when it could not be delivered, and
    /// <see cref="AuthenticationStatus.Expired"/> when no answer came in time.
    /// </summary>
    public async Task<string> RequestAsync(
        string selfId, Action<AuthenticationResponse> callback, AuthenticationRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(callback);
        RefuseNumberMatching(options);
        var pending = await OpenAndSendAsync(selfId, options, number: null, callback, throwOnFailure: false, cancellationToken).ConfigureAwait(false);
        return pending.ConversationId;
    }

    /// <summary>
    /// Asynchronous style: sends the request and returns its conversation id; the outcome arrives later at the
    /// subscribers (<see cref="Subscribe(Action{AuthenticationResponse})"/>, <see cref="Responses"/>), matched by conversation id — also after a restart of
    /// the app, since open requests are kept in the encrypted store. Delivery failures arrive there too, as
    /// <see cref="AuthenticationStatus.Unauthorized"/> or <see cref="AuthenticationStatus.Errored"/>.
    /// </summary>
    public async Task<string> SendAsync(string selfId, AuthenticationRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        RefuseNumberMatching(options);
        var pending = await OpenAndSendAsync(selfId, options, number: null, callback: null, throwOnFailure: false, cancellationToken).ConfigureAwait(false);
        return pending.ConversationId;
    }

    /// <summary>
    /// Asynchronous style for a sign-in screen: sends the request and returns what the screen shows while it waits —
    /// the conversation id, when it expires and, with number matching (<see cref="AuthenticationRequestOptions.NumberMatching"/>,
    /// else <see cref="SelfClientOptions.NumberMatching"/>), the 2-digit number the person must type on their device.
    /// The outcome arrives as for <see cref="SendAsync"/>: <see cref="WaitForResponseAsync"/>, the subscribers and
    /// <see cref="Responses"/>. With number matching, an answer without the right number ends the request
    /// <see cref="AuthenticationStatus.Rejected"/>, with the reason.
    /// </summary>
    public async Task<AuthenticationChallenge> StartAsync(
        string selfId, AuthenticationRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        var numberMatching = options?.NumberMatching ?? _client.Options.NumberMatching;
        var number = numberMatching ? NumberMatch.Create() : default((string Number, NumberMatch Claim)?);
        var pending = await OpenAndSendAsync(selfId, options, number, callback: null, throwOnFailure: false, cancellationToken).ConfigureAwait(false);
        return new AuthenticationChallenge(pending.ConversationId, pending.Number, pending.Expires);
    }

    /// <summary>Runs <paramref name="handler"/> for the outcome of every request of this client. Dispose the result to stop.</summary>
    public IDisposable Subscribe(Func<AuthenticationResponse, ValueTask> handler) => _tracker.Subscribe(handler);

    /// <summary>Runs <paramref name="handler"/> for the outcome of every request of this client. Dispose the result to stop.</summary>
    public IDisposable Subscribe(Action<AuthenticationResponse> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return _tracker.Subscribe(response =>
        {
            handler(response);
            return ValueTask.CompletedTask;
        });
    }

    /// <summary>The outcome of every request from the moment enumeration starts, until the client is disposed.</summary>
    public IAsyncEnumerable<AuthenticationResponse> Responses => _tracker.ReadAsync(CancellationToken.None);

    /// <summary>Like <see cref="Responses"/>, ending when <paramref name="cancellationToken"/> is cancelled.</summary>
    public IAsyncEnumerable<AuthenticationResponse> ReadResponsesAsync(CancellationToken cancellationToken = default) =>
        _tracker.ReadAsync(cancellationToken);

    /// <summary>
    /// Waits for the outcome of the request <paramref name="conversationId"/> (one sent in any style, a QR code or a deep
    /// link, before or after a restart, by this instance or by another instance of the same app — docs/app-devices.md).
    /// </summary>
    /// <exception cref="ArgumentException">No open or recently ended request has this conversation id.</exception>
    public Task<AuthenticationResponse> WaitForResponseAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(conversationId);
        if (_tracker.Find(conversationId) is { } pending)
        {
            return pending.Completion.Task.WaitAsync(cancellationToken);
        }

        if (_tracker.FindEnded(conversationId) is { } ended)
        {
            return Task.FromResult(ended);
        }

        // A request that another instance of this app sent: the answer reaches this instance too.
        if (_tracker.AdoptOther(conversationId) is { } adopted)
        {
            return adopted.Completion.Task.WaitAsync(cancellationToken);
        }

        throw new ArgumentException($"No request of this app has conversation id '{conversationId}' (it may have ended long ago).", nameof(conversationId));
    }

    /// <summary>
    /// Where the request <paramref name="conversationId"/> stands, without waiting: still pending (with its expiry), or
    /// ended (with its outcome). Null when this app has no such request, or it ended long ago. For apps that draw their
    /// own sign-in screen and poll.
    /// </summary>
    public Task<AuthenticationRequestState?> GetStatusAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(conversationId);
        cancellationToken.ThrowIfCancellationRequested();
        AuthenticationRequestState? state = null;
        if (_tracker.FindEnded(conversationId) is { } ended)
        {
            state = new AuthenticationRequestState(conversationId, ended.SelfId, null, ended);
        }
        else if (_tracker.Find(conversationId) is { } pending)
        {
            state = new AuthenticationRequestState(conversationId, pending.SelfId, pending.Expires, null);
        }

        return Task.FromResult(state);
    }

    /// <summary>
    /// A request anyone may answer (<c>sub</c> = <c>-</c>) drawn as a QR code for a phone to scan; wait for the
    /// answer with <see cref="WaitForResponseAsync"/> on <see cref="QrCode.ConversationId"/>. The answer tells who
    /// the user is.
    /// </summary>
    public async Task<QrCode> GenerateQrCodeAsync(AuthenticationRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (pending, jws) = await OpenAnyoneAsync(options, cancellationToken).ConfigureAwait(false);
        return new QrCode(jws.ToJson(), pending.ConversationId);
    }

    /// <summary>
    /// A request anyone may answer, as a deep link a phone opens (spec §11); the phone returns to
    /// <paramref name="callback"/> after answering.
    /// </summary>
    public async Task<DeepLinkRequest> GenerateDeepLinkAsync(
        Uri callback, AuthenticationRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var (pending, jws) = await OpenAnyoneAsync(options, cancellationToken).ConfigureAwait(false);
        return new DeepLinkRequest(DeepLink.Build(_client.Options.LinksBaseUrl, callback, jws.ToJson()), pending.ConversationId);
    }

    /// <summary>What <see cref="PrepareReceive"/> made of a response before its receive commit.</summary>
    private sealed record PreparedResponse(AuthenticationResponseClaims? Claims, string? Unreadable, bool StoredRequestRemoved);

    /// <summary>
    /// Runs before a received message's commit is queued: a response that answers an open request of this instance
    /// removes that request's stored row in the same transaction as the receive (one commit per answer instead of two).
    /// The row goes only when the response passes the checks of spec §9, which end the request whatever it says; should
    /// it still not end it (the request ended meanwhile), the request is over anyway.
    /// </summary>
    internal object? PrepareReceive(ReceivedMessage message, ClientStoreBatch? batch)
    {
        if (message.Type is not (MessageTypes.FactsQueryResponse or MessageTypes.AuthenticateResponse))
        {
            return null;
        }

        AuthenticationResponseClaims claims;
        try
        {
            claims = SignedMessage.ReadClaims<AuthenticationResponseClaims>(message.Jws);
        }
        catch (Exception ex) when (ex is Protocol.SelfException or System.Text.Json.JsonException)
        {
            return new PreparedResponse(null, ex.Message, StoredRequestRemoved: false);
        }

        if (batch is not null && claims.Cid is { } cid && _tracker.Find(cid) is not null && Check(claims, message) is null)
        {
            batch.RemoveOpenRequest(cid);
            return new PreparedResponse(claims, null, StoredRequestRemoved: true);
        }

        return new PreparedResponse(claims, null, StoredRequestRemoved: false);
    }

    /// <summary>Checks a received message and, when it answers an open request, ends that request.</summary>
    internal async ValueTask HandleAsync(ReceivedMessage message, CancellationToken cancellationToken)
    {
        if (message.Type is not (MessageTypes.FactsQueryResponse or MessageTypes.AuthenticateResponse))
        {
            return;
        }

        var prepared = message.Note as PreparedResponse ?? PrepareReceive(message, batch: null) as PreparedResponse;
        if (prepared?.Claims is not { } claims)
        {
            Log.ResponseDropped(_logger, "unreadable claims: " + prepared?.Unreadable, null, message.Sender.ToString());
            return;
        }

        var reason = Check(claims, message);
        if (reason is not null)
        {
            Log.ResponseDropped(_logger, reason, claims.Cid, message.Sender.ToString());
            return;
        }

        var status = claims.Status switch
        {
            ResponseStatuses.Accepted => AuthenticationStatus.Accepted,
            ResponseStatuses.Rejected => AuthenticationStatus.Rejected,
            _ => AuthenticationStatus.Unauthorized,
        };
        string? mismatch = null;
        // The number of a request that another instance sent is in its signed cid, masked (docs/app-devices.md).
        if (status == AuthenticationStatus.Accepted && (_tracker.Find(claims.Cid!) ?? _tracker.DescribeOther(claims.Cid!))?.Number is { } expected &&
            !string.Equals(claims.Number, expected, StringComparison.Ordinal))
        {
            // Spec §9a: an accepted answer counts only with the app's own number; a device that ignored number
            // matching (no number) is treated the same as one whose person typed another.
            status = AuthenticationStatus.Rejected;
            mismatch = claims.Number is null
                ? "the device accepted without number matching"
                : "the number typed on the device does not match the one shown";
            Log.NumberMismatch(_logger, claims.Cid!, claims.Iss);
        }

        var answered = await _tracker.CompleteAsync(
            claims.Cid!,
            new AuthenticationResponse(status, claims.Iss, claims.DeviceId ?? message.Sender.Device, claims.Cid!, mismatch),
            cancellationToken,
            includeOtherInstances: true,
            storedRowRemoved: prepared.StoredRequestRemoved).ConfigureAwait(false);
        if (!answered)
        {
            Log.ResponseDropped(_logger, "the request was already answered or had expired", claims.Cid, message.Sender.ToString());
        }
    }

    /// <summary>The checks of spec §9 an app makes before a response counts; null when it passes, else why not.</summary>
    private string? Check(AuthenticationResponseClaims claims, ReceivedMessage message)
    {
        // The signature was verified by the messenger against the sender's key history (kid valid at iat), and the
        // jti against those already processed; what is left is whether this response answers one of our requests.
        var now = _client.TimeProvider.GetUtcNow();
        // An answer to a request that another instance of this app sent is checked against what its signed cid says.
        if (claims.Cid is null || (_tracker.Find(claims.Cid) ?? _tracker.DescribeOther(claims.Cid)) is not { } pending)
        {
            return "cid names no open request";
        }

        if (claims.Typ != MessageTypes.ResponseTypeFor(pending.RequestType))
        {
            return $"typ {claims.Typ} does not answer a {pending.RequestType}";
        }

        if (claims.Aud != _client.Options.AppId)
        {
            return "aud is not this app";
        }

        if (claims.Iss != claims.Sub || claims.Iss != message.Sender.Id)
        {
            return "iss, sub and the sender differ";
        }

        if (pending.SelfId != "-" && claims.Iss != pending.SelfId)
        {
            return $"answered by {claims.Iss}, but {pending.SelfId} was asked";
        }

        if (!SelfIds.IsUserId(claims.Iss))
        {
            return "the issuer is not a user";
        }

        if (RequestRules.CheckResponseTimes(now, pending.IssuedAt, pending.Expires, claims.Iat, claims.Exp) is { } late)
        {
            return late;
        }

        if (claims.Status is not (ResponseStatuses.Accepted or ResponseStatuses.Rejected or ResponseStatuses.Unauthorized))
        {
            return $"unknown status '{claims.Status}'";
        }

        return null;
    }

    private async Task<PendingRequest> OpenAndSendAsync(
        string selfId, AuthenticationRequestOptions? options, (string Number, NumberMatch Claim)? number,
        Action<AuthenticationResponse>? callback, bool throwOnFailure, CancellationToken cancellationToken)
    {
        if (!SelfIds.IsUserId(selfId))
        {
            throw new ArgumentException($"'{selfId}' is not a Self ID: expected 10 or 11 digits, such as 1112223334.", nameof(selfId));
        }

        var endpoint = _client.Endpoint;
        var (cid, issuedAt, expires, jws) = BuildRequest(selfId, options, number?.Claim, number?.Number);
        // The open request is stored in the same transaction as the request's sessions: one commit, before it leaves.
        var stored = endpoint.Store.CreateBatch();
        var pending = await _tracker.OpenAsync(
            cid, selfId, MessageTypes.FactsQueryRequest, issuedAt, expires, number?.Number, callback, cancellationToken, stored).ConfigureAwait(false);
        try
        {
            await endpoint.SendAsync(
                selfId, jws, MsgSubType.AuthenticationReq, priority: 1, stored, cancellationToken: cancellationToken).ConfigureAwait(false);
            Log.RequestSent(_logger, cid, selfId, expires);
            return pending;
        }
        catch (Exception ex) when (Translate(ex, selfId) is { } failure)
        {
            Log.SendFailed(_logger, cid, selfId, failure.Message);
            var status = failure is NotConnectedException ? AuthenticationStatus.Unauthorized : AuthenticationStatus.Errored;
            if (throwOnFailure)
            {
                // The caller gets the exception; the request must not linger or reach the callback.
                await _tracker.CompleteAsync(cid, new AuthenticationResponse(status, selfId, null, cid, failure.Message), CancellationToken.None).ConfigureAwait(false);
                throw failure;
            }

            await _tracker.CompleteAsync(cid, new AuthenticationResponse(status, selfId, null, cid, failure.Message), CancellationToken.None).ConfigureAwait(false);
            return pending;
        }
        catch
        {
            await _tracker.CompleteAsync(
                cid, new AuthenticationResponse(AuthenticationStatus.Errored, selfId, null, cid, "the request was not sent"), CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<(PendingRequest Pending, FlattenedJws Jws)> OpenAnyoneAsync(AuthenticationRequestOptions? options, CancellationToken cancellationToken)
    {
        var (cid, issuedAt, expires, jws) = BuildRequest("-", options, numberMatch: null);
        var pending = await _tracker.OpenAsync(
            cid, "-", MessageTypes.FactsQueryRequest, issuedAt, expires, number: null, callback: null, cancellationToken).ConfigureAwait(false);
        return (pending, jws);
    }

    private static void RefuseNumberMatching(AuthenticationRequestOptions? options)
    {
        if (options?.NumberMatching == true)
        {
            throw new ArgumentException(
                "Number matching needs StartAsync, which returns the number the app must show; this style cannot.", nameof(options));
        }
    }

    private (string Cid, DateTimeOffset IssuedAt, DateTimeOffset Expires, FlattenedJws Jws) BuildRequest(
        string subject, AuthenticationRequestOptions? options, NumberMatch? numberMatch, string? number = null)
    {
        options ??= new AuthenticationRequestOptions();
        var cid = options.ConversationId;
        if (cid is not null && !SelfIds.IsConversationId(cid))
        {
            throw new ArgumentException($"ConversationId must be 1 to {SelfIds.MaxConversationIdLength} characters.", nameof(options));
        }

        var expiry = options.Expiry ?? _client.Options.DefaultExpiry;
        if (expiry <= TimeSpan.Zero || expiry > MaxExpiry)
        {
            throw new ArgumentOutOfRangeException(nameof(options), expiry, "Expiry must be positive and at most 24 hours: devices refuse requests that live longer.");
        }

        if (options.BindingMessage is { } binding &&
            !RequestRules.IsValidBindingMessage(binding))
        {
            throw new ArgumentException($"BindingMessage must be 1 to {MaxBindingMessageLength} printable characters.", nameof(options));
        }

        if (options.Description is { Length: > MaxDescriptionLength })
        {
            throw new ArgumentException($"Description must be at most {MaxDescriptionLength} characters.", nameof(options));
        }

        var now = _client.TimeProvider.GetUtcNow();
        var expires = now + expiry;
        // Signed so that every instance of the app can check an answer to it (docs/app-devices.md).
        cid ??= _tracker.NewConversationId(subject, MessageTypes.FactsQueryRequest, expires, number);
        var claims = new AuthenticationRequestClaims
        {
            Typ = MessageTypes.FactsQueryRequest,
            Iss = _client.Options.AppId,
            Sub = subject,
            Aud = subject,
            Iat = now,
            Exp = expires,
            Cid = cid,
            Jti = Guid.NewGuid().ToString(),
            Facts = [],
            Auth = true,
            DeviceId = _client.Options.DeviceId,
            Description = options.Description,
            BindingMessage = options.BindingMessage,
            AppName = _client.AppName,
            NumberMatch = numberMatch,
        };
        return (cid, now, expires, SignedMessage.Sign(claims, _client.SigningKey));
    }

    /// <summary>The exception a developer should see for a failed send, or null to let it through unchanged.</summary>
    private Exception? Translate(Exception ex, string selfId) => ex switch
    {
        MessageRefusedException { IsNotConnected: true } => new NotConnectedException(selfId, _client.Options.AppId, ex),
        MessageRefusedException { IsRateLimited: true } refused =>
            new RateLimitedException(refused.RetryAfter ?? TimeSpan.FromMinutes(1), $"Requests to {selfId} are rate limited: {refused.Reason}", ex),
        SelfApiException { StatusCode: HttpStatusCode.Forbidden } => new NotConnectedException(selfId, _client.Options.AppId, ex),
        // 404 "not_found" names the identity; other 404s (a device without one-time keys) keep their own message.
        SelfApiException { StatusCode: HttpStatusCode.NotFound, ErrorCode: "not_found" } => new UnknownIdentityException(selfId, ex),
        SelfApiException { StatusCode: HttpStatusCode.Unauthorized } => new InvalidSecretKeyException(_client.Options.AppId, ex.Message, ex),
        RateLimitedException or ServerUnreachableException or MessageRefusedException or SelfApiException or ConnectionLostException => ex,
        _ => null,
    };
}

/// <summary>A deep link that carries an authentication request, and the conversation id to wait on.</summary>
/// <param name="Link">The URL a phone opens.</param>
/// <param name="ConversationId">Pass it to <see cref="AuthenticationService.WaitForResponseAsync"/>.</param>
public sealed record DeepLinkRequest(Uri Link, string ConversationId);
