using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Self.Messaging;
using Self.Protocol;
using Self.Protocol.Identifiers;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;
using Self.Protocol.Links;
using Self.Protocol.Messages;

namespace Self.Device;

// Incoming authentication requests (spec §9): checked, then answered by the consent policy or handed to a person.
public sealed partial class SelfDevice
{
    private const int MaxBindingMessageLength = RequestRules.MaxBindingMessageLength;

    /// <summary>How long the device keeps trying to send an answer it gave on its own (within the request's expiry).</summary>
    private static readonly TimeSpan AutomaticAnswerPatience = TimeSpan.FromMinutes(2);

    /// <summary>The pause before the second attempt at such an answer; it doubles on each further one.</summary>
    private static readonly TimeSpan FirstAutomaticAnswerPause = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest pause between two attempts at such an answer.</summary>
    private static readonly TimeSpan MaxAutomaticAnswerPause = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The requests a person should answer, as they arrive (and those still open from before a restart): only requests
    /// that passed every check, come from a connected app, and that the consent policy left to a person
    /// (<see cref="ConsentDecision.Ask"/>). Requests that expire or get answered before they are read are skipped.
    /// Each request is handed to one reader. Ends when the device is disposed.
    /// </summary>
    public IAsyncEnumerable<IncomingRequest> Requests => ReadRequestsAsync();

    /// <summary>The requests that are open now (not answered, not expired), oldest expiry first.</summary>
    public IReadOnlyList<IncomingRequest> OpenRequests
    {
        get
        {
            var now = _time.GetUtcNow();
            return _open.Values.Where(r => r.Answer is null && r.ExpiresAt > now).OrderBy(r => r.ExpiresAt).ToList();
        }
    }

    /// <summary><see cref="Requests"/>, ending when <paramref name="cancellationToken"/> is cancelled.</summary>
    public async IAsyncEnumerable<IncomingRequest> ReadRequestsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var request in _requests.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (request.Answer is not null || _time.GetUtcNow() >= request.ExpiresAt)
            {
                continue;
            }

            yield return request;
        }
    }

    /// <summary>
    /// Reads an authentication request from a scanned QR code or an opened deep link (<c>sub</c> = <c>-</c>: anyone may
    /// answer) and checks it: signed by the app's key valid at <c>iat</c> (from the app's key history), not expired, at
    /// most 24 hours long, not answered before. Answer it with <see cref="IncomingRequest.AcceptAsync(CancellationToken)"/> or
    /// <see cref="IncomingRequest.RejectAsync"/>; the app learns from the answer who the user is.
    /// </summary>
    /// <exception cref="InvalidRequestException">It is not a valid request; the message says which check failed.</exception>
    /// <exception cref="RequestExpiredException">It has expired.</exception>
    public async Task<IncomingRequest> ReadQrAsync(string qrOrDeepLink, CancellationToken cancellationToken = default)
    {
        var session = Session;
        var (jws, claims, origin) = ReadCarried<AuthenticationRequestClaims>(qrOrDeepLink, MessageTypes.FactsQueryRequest, MessageTypes.AuthenticateRequest);
        await CheckCarriedAsync(session, jws, claims, cancellationToken).ConfigureAwait(false);
        if (CheckAuthenticationClaims(claims) is { } reason)
        {
            throw new InvalidRequestException(reason);
        }

        var name = claims.AppName ?? await AppNameAsync(session, claims.Iss, requireExisting: false, cancellationToken).ConfigureAwait(false);
        return new IncomingRequest(this, jws, claims, name, origin);
    }

    /// <summary>Reads, checks (see <see cref="ReadQrAsync"/>) and answers a QR-code or deep-link request in one call.</summary>
    /// <exception cref="InvalidRequestException">It is not a valid request; the message says which check failed.</exception>
    /// <exception cref="RequestExpiredException">It has expired; nothing is sent.</exception>
    public async Task<IncomingRequest> AnswerQrAsync(string qrOrDeepLink, bool accept, CancellationToken cancellationToken = default)
    {
        var request = await ReadQrAsync(qrOrDeepLink, cancellationToken).ConfigureAwait(false);
        if (accept)
        {
            // Goes through the request's own accept, which refuses a request that needs a number (spec §9a).
            await request.AcceptAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await request.RejectAsync(cancellationToken).ConfigureAwait(false);
        }

        return request;
    }

    /// <summary>Signs and sends the answer to every device of the app.</summary>
    internal async Task AnswerAsync(
        IncomingRequest request, RequestAnswer answer, bool byPolicy, CancellationToken cancellationToken, string? number = null)
    {
        var now = _time.GetUtcNow();
        if (now >= request.ExpiresAt)
        {
            await ForgetAsync(request).ConfigureAwait(false);
            throw new RequestExpiredException(request.AppId, request.ConversationId, request.ExpiresAt);
        }

        if (!request.TryBeginAnswer())
        {
            throw new RequestAlreadyAnsweredException(request.ConversationId, request.StateDescription);
        }

        using var span = Diagnostics.DeviceTelemetry.ActivitySource.StartActivity("self.device.answer", System.Diagnostics.ActivityKind.Producer);
        span?.SetTag("self.conversation.id", request.ConversationId);
        span?.SetTag("self.answer", answer switch { RequestAnswer.Accepted => "accepted", RequestAnswer.Rejected => "rejected", _ => "unauthorized" });
        span?.SetTag("self.by_policy", byPolicy);
        DeviceSession session;
        FlattenedJws? response = null;
        try
        {
            session = Session;
            response = request.UnsentAnswer is { } unsent && unsent.Answer == answer && unsent.Number == number ? unsent.Jws : Sign(request, answer, number, now, session);
            await session.Endpoint.SendAsync(
                request.AppId, response, request.ResponseSubtype, priority: 0, answering: request.Received, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.GetType().Name);
            request.UnsentAnswer = response is null ? null : (answer, number, response);
            request.AbortAnswer();
            throw;
        }

        request.UnsentAnswer = null;
        request.CompleteAnswer(answer);
        if (request.Origin != RequestOrigin.Message)
        {
            // Requests that came through the network were marked seen on arrival; scanned ones now.
            await MarkSeenAsync(session, request.RequestId, request.ExpiresAt).ConfigureAwait(false);
        }

        await ForgetAsync(request).ConfigureAwait(false);
        if (answer == RequestAnswer.Unauthorized)
        {
            Log.AnsweredUnauthorized(_logger, request.ConversationId, request.AppId);
        }
        else
        {
            Log.RequestAnswered(_logger, request.ConversationId, request.AppId, answer.ToString(), byPolicy ? "consent policy" : "person");
        }

        try
        {
            RequestAnswered?.Invoke(this, new RequestAnsweredEventArgs(request, answer, byPolicy));
        }
        catch (Exception ex)
        {
            Log.EventHandlerFailed(_logger, ex);
        }
    }

    private FlattenedJws Sign(IncomingRequest request, RequestAnswer answer, string? number, DateTimeOffset now, DeviceSession session)
    {
        var status = answer switch
        {
            RequestAnswer.Accepted => ResponseStatuses.Accepted,
            RequestAnswer.Rejected => ResponseStatuses.Rejected,
            _ => ResponseStatuses.Unauthorized,
        };
        return SignedMessage.Sign(
            new AuthenticationResponseClaims
            {
                Typ = MessageTypes.ResponseTypeFor(request.Type)!,
                Iss = SelfId,
                Sub = SelfId,
                Aud = request.AppId,
                Iat = now,
                Exp = request.ExpiresAt,
                Cid = request.ConversationId,
                Jti = Guid.NewGuid().ToString(),
                Status = status,
                Auth = true,
                Facts = [],
                DeviceId = DeviceId,
                Number = answer == RequestAnswer.Accepted ? number : null,
            },
            session.Key);
    }

    /// <summary>
    /// Sends the answer the device gave on its own (the consent policy's, or unauthorized for an app that is not
    /// connected). No person is there to press the button again, so a send the network may not have taken — the
    /// connection dropped before the server answered, the server could not store it, the network was unreachable or
    /// rate limited — is sent again (the same signed answer) after a pause that doubles (<see cref="Backoff"/>), while the request is open, for
    /// at most <see cref="AutomaticAnswerPatience"/>. False when it did not get through: the request is then left to a
    /// person, and kept for after a restart.
    /// </summary>
    private async Task<bool> AnswerByPolicyAsync(IncomingRequest request, RequestAnswer answer, CancellationToken cancellationToken)
    {
        var giveUpAt = _time.GetUtcNow() + AutomaticAnswerPatience;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await AnswerAsync(request, answer, byPolicy: true, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (ex is SelfException or ObjectDisposedException or InvalidOperationException)
            {
                var pause = Backoff.Delay(attempt - 1, FirstAutomaticAnswerPause, MaxAutomaticAnswerPause);
                var wait = RetryAfter(ex) is { } asked && asked > pause ? asked : pause;
                var resumeAt = _time.GetUtcNow() + wait;
                if (!MaySendAgain(ex) || resumeAt >= request.ExpiresAt || resumeAt >= giveUpAt || cancellationToken.IsCancellationRequested)
                {
                    Log.AutomaticAnswerFailed(_logger, request.ConversationId, request.AppId, ex);
                    return false;
                }

                Log.AutomaticAnswerRetried(_logger, request.ConversationId, request.AppId, attempt, wait, ex.Message);
                try
                {
                    // The request itself is not left waiting for the answer's commit meanwhile.
                    if (request.Received?.Commit is { } receive)
                    {
                        await receive.CommitAsync().ConfigureAwait(false);
                    }

                    await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Stopping: kept as open, the policy decides again after the restart.
                    return false;
                }
            }
        }
    }

    /// <summary>True when the network may not have taken the answer for a reason that can pass: sending it again may work.</summary>
    private static bool MaySendAgain(Exception exception) => exception switch
    {
        ConnectionLostException or ServerUnreachableException => true,
        MessageRefusedException refused => refused.ErrorType == Protocol.Frames.ErrType.ErrInternal || refused.IsRateLimited,
        SelfApiException api => (int)api.StatusCode >= 500 || api is RateLimitedException,
        _ => false,
    };

    /// <summary>How long a rate-limited refusal asked the device to wait, if it did.</summary>
    private static TimeSpan? RetryAfter(Exception exception) => exception switch
    {
        MessageRefusedException refused => refused.RetryAfter,
        RateLimitedException limited => limited.RetryAfter,
        _ => null,
    };

    // ---- Receiving --------------------------------------------------------------------------------------------

    private async ValueTask HandleMessageAsync(DeviceSession session, ReceivedMessage message, CancellationToken cancellationToken)
    {
        // Requests kept from before a restart come first.
        await EnsureRestoredAsync().ConfigureAwait(false);
        if (!MessageTypes.IsAuthenticationRequest(message.Type))
        {
            return;
        }

        AuthenticationRequestClaims claims;
        try
        {
            claims = SignedMessage.ReadClaims<AuthenticationRequestClaims>(message.Jws);
        }
        catch (MessageFormatException ex)
        {
            Log.RequestDropped(_logger, "unreadable claims: " + ex.Message, message.Type, null, message.Sender.ToString());
            return;
        }

        // The messenger verified the signature against the sender's history (kid valid at iat) and that the jti is new.
        var now = _time.GetUtcNow();
        var reason = claims.Typ != message.Type ? "its typ differs from the frame's"
            : claims.Iss != message.Sender.Id ? $"its issuer {claims.Iss} is not the sender {message.Sender.Id}"
            : CheckCommonClaims(claims, now) ?? CheckAuthenticationClaims(claims);
        if (reason is not null)
        {
            Log.RequestDropped(_logger, reason, message.Type, claims.Cid, message.Sender.ToString());
            return;
        }

        var name = claims.AppName ?? await AppNameAsync(session, claims.Iss, requireExisting: false, cancellationToken).ConfigureAwait(false);
        var request = new IncomingRequest(this, message.Jws, claims, name, RequestOrigin.Message) { Received = message };

        bool connected;
        try
        {
            connected = await IsConnectedAsync(session, claims.Iss, cancellationToken).ConfigureAwait(false);
        }
        catch (SelfException)
        {
            // The network only carries messages of connected apps: without a way to look, trust that it did its part.
            connected = true;
        }

        if (!connected)
        {
            await AnswerByPolicyAsync(request, RequestAnswer.Unauthorized, cancellationToken).ConfigureAwait(false);
            return;
        }

        await PresentAsync(session, request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Keeps the request open, lets the consent policy decide, and answers or hands it to a person.</summary>
    private async Task PresentAsync(DeviceSession session, IncomingRequest request, CancellationToken cancellationToken)
    {
        if (!_open.TryAdd(request.StoreKey, request))
        {
            return;
        }

        ConsentDecision decision;
        try
        {
            decision = await Options.ConsentPolicy.DecideAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.AutomaticAnswerFailed(_logger, request.ConversationId, request.AppId, ex);
            decision = ConsentDecision.Ask;
        }

        if (decision == ConsentDecision.Accept && request.RequiresNumber)
        {
            // Number matching needs the person: only they see the app's screen (spec §9a).
            decision = ConsentDecision.Ask;
        }

        if (decision is ConsentDecision.Accept or ConsentDecision.Reject
            && await AnswerByPolicyAsync(request, decision == ConsentDecision.Accept ? RequestAnswer.Accepted : RequestAnswer.Rejected, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        // Kept in the store only while a person has it: it comes back after a restart.
        if (!request.IsStored)
        {
            var stored = new StoredRequest(request.Jws.Payload, request.Jws.Protected, request.Jws.Signature, request.AppName);
            var store = session.Endpoint.Store;
            var batch = store.CreateBatch().SaveOpenRequest(
                request.StoreKey, JsonSerializer.Serialize(stored, StoredRequestJsonContext.Default.StoredRequest), request.ExpiresAt);

            // With the request's receive when that is still waiting: kept for the person exactly when it was received.
            await store.CommitWithReceiveAsync(batch, request.Received?.Commit).ConfigureAwait(false);
            request.IsStored = true;
        }

        _requests.Writer.TryWrite(request);
    }

    private Task EnsureRestoredAsync()
    {
        lock (_gate)
        {
            return _restored ??= RestoreAsync(Session);
        }
    }

    /// <summary>Hands the requests that were open when the device last stopped to the policy or to <see cref="Requests"/> again.</summary>
    private async Task RestoreAsync(DeviceSession session)
    {
        // Off the caller's stack: the first message handler and the start both wait for this.
        await Task.Yield();
        IReadOnlyList<OpenRequest> stored;
        try
        {
            stored = await session.Endpoint.Store.GetOpenRequestsAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SelfException or ObjectDisposedException or InvalidOperationException)
        {
            Log.StoredRequestRemoved(_logger, "*", "the store could not be read: " + ex.Message);
            return;
        }

        var restored = 0;
        foreach (var row in stored)
        {
            IncomingRequest request;
            try
            {
                var saved = JsonSerializer.Deserialize(row.Json, StoredRequestJsonContext.Default.StoredRequest)
                    ?? throw new JsonException("null");
                var jws = new FlattenedJws(saved.Payload, saved.Protected, saved.Signature);
                var claims = SignedMessage.ReadClaims<AuthenticationRequestClaims>(jws);
                request = new IncomingRequest(this, jws, claims, saved.AppName, RequestOrigin.Message);
                if (_time.GetUtcNow() >= request.ExpiresAt)
                {
                    await session.Endpoint.Store.RemoveOpenRequestAsync(row.ConversationId, CancellationToken.None).ConfigureAwait(false);
                    continue;
                }
            }
            catch (Exception ex) when (ex is JsonException or SelfException)
            {
                Log.StoredRequestRemoved(_logger, row.ConversationId, ex.Message);
                await session.Endpoint.Store.RemoveOpenRequestAsync(row.ConversationId, CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            request.IsStored = true;
            await PresentAsync(session, request, CancellationToken.None).ConfigureAwait(false);
            restored++;
        }

        if (restored > 0)
        {
            Log.Restored(_logger, restored);
        }
    }

    private async Task ForgetAsync(IncomingRequest request)
    {
        _open.TryRemove(request.StoreKey, out _);
        if (!request.IsStored || Volatile.Read(ref _session) is not { } session)
        {
            return;
        }

        try
        {
            await session.Endpoint.Store.RemoveOpenRequestAsync(request.StoreKey, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
        {
            // Closed meanwhile: the next start drops it as answered or expired.
        }
    }

    private static async Task MarkSeenAsync(DeviceSession session, string jti, DateTimeOffset expires)
    {
        var store = session.Endpoint.Store;
        await store.CommitAsync(store.CreateBatch().AddSeenJti(jti, expires + TimeSpan.FromDays(1)), CancellationToken.None).ConfigureAwait(false);
    }

    private static Task MarkSeenAsync(DeviceSession session, MessageClaims claims) => MarkSeenAsync(session, claims.Jti, claims.Exp);

    // ---- Checks -----------------------------------------------------------------------------------------------

    /// <summary>The checks every request and invitation gets (spec §9, §10); null when it passes, else why not.</summary>
    private string? CheckCommonClaims(MessageClaims claims, DateTimeOffset now)
    {
        if (!SelfIds.IsAppId(claims.Iss))
        {
            return $"its issuer '{claims.Iss}' is not an app id";
        }

        if (claims.Sub != SelfId && claims.Sub != "-")
        {
            return $"it is for '{claims.Sub}', not for this user";
        }

        if (claims.Aud != SelfId && claims.Aud != "-")
        {
            return $"its audience is '{claims.Aud}', not this user";
        }

        if (claims.Cid is null || !SelfIds.IsConversationId(claims.Cid))
        {
            return "it has no valid conversation id";
        }

        if (string.IsNullOrEmpty(claims.Jti))
        {
            return "it has no message id";
        }

        if (RequestRules.CheckRequestTimes(now, claims.Iat, claims.Exp) is { } late)
        {
            return late;
        }

        return null;
    }

    /// <summary>What an authentication request needs beyond the common checks.</summary>
    private static string? CheckAuthenticationClaims(AuthenticationRequestClaims claims)
    {
        if (claims.Typ == MessageTypes.FactsQueryRequest && claims.Auth != true)
        {
            return "it is a facts query, not an authentication request (auth is not true)";
        }

        if (claims.Facts.Count > 0)
        {
            return "it asks for facts, which this device does not share";
        }

        if (claims.BindingMessage is { } binding && !RequestRules.IsValidBindingMessage(binding))
        {
            return $"its binding message is not at most {MaxBindingMessageLength} printable characters";
        }

        if (claims.NumberMatch is { } numberMatch && !numberMatch.IsWellFormedClaim())
        {
            return "its number_match is not a 16-byte salt and a SHA-256 hash";
        }

        return null;
    }

    /// <summary>Reads a signed request out of a QR payload or deep link.</summary>
    private static (FlattenedJws Jws, T Claims, RequestOrigin Origin) ReadCarried<T>(string qrOrDeepLink, params string[] types)
        where T : MessageClaims
    {
        ArgumentException.ThrowIfNullOrEmpty(qrOrDeepLink);
        var origin = qrOrDeepLink.TrimStart().StartsWith('{') ? RequestOrigin.QrCode : RequestOrigin.DeepLink;
        try
        {
            var jws = FlattenedJws.Parse(DeepLink.ExtractPayload(qrOrDeepLink));
            var claims = SignedMessage.ReadClaims<T>(jws);
            if (!types.Contains(claims.Typ, StringComparer.Ordinal))
            {
                throw new InvalidRequestException($"it is a '{claims.Typ}', expected {string.Join(" or ", types)}");
            }

            return (jws, claims, origin);
        }
        catch (FormatException ex)
        {
            throw new InvalidRequestException("it is neither a QR payload nor a deep link that carries a request", ex);
        }
        catch (JwsFormatException ex)
        {
            throw new InvalidRequestException("it does not carry a signed request (" + ex.Message + ")", ex);
        }
        catch (MessageFormatException ex)
        {
            throw new InvalidRequestException("its claims are not readable (" + ex.Message + ")", ex);
        }
    }

    /// <summary>The checks of a scanned request or invitation, which did not come through the messenger: all of them.</summary>
    private async Task CheckCarriedAsync(DeviceSession session, FlattenedJws jws, MessageClaims claims, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (claims.Exp <= now)
        {
            throw new RequestExpiredException(claims.Iss, claims.Cid ?? "-", claims.Exp);
        }

        if (CheckCommonClaims(claims, now) is { } reason)
        {
            throw new InvalidRequestException(reason);
        }

        HistoryKey? key;
        try
        {
            key = await session.Endpoint.Directory.ResolveKeyAsync(claims.Iss, jws.Header.Kid, claims.Iat.ToUnixTimeSeconds(), cancellationToken)
                .ConfigureAwait(false);
        }
        catch (SelfApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            throw new InvalidRequestException($"the app {claims.Iss} does not exist on this network", ex);
        }
        catch (HistoryValidationException ex)
        {
            throw new InvalidRequestException($"the key history of app {claims.Iss} does not validate", ex);
        }

        if (key is null)
        {
            throw new InvalidRequestException($"key '{jws.Header.Kid}' of app {claims.Iss} was not valid when the request was issued");
        }

        if (key.Role != KeyRole.Device || !jws.Verify(key.PublicKey))
        {
            throw new InvalidRequestException($"the signature is not app {claims.Iss}'s");
        }

        if (await session.Endpoint.Store.HasSeenJtiAsync(claims.Jti, cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidRequestException("it was already answered on this device");
        }
    }
}

/// <summary>An open request as the device keeps it in its store until it is answered or expires.</summary>
internal sealed record StoredRequest(string Payload, string Protected, string Signature, string? AppName);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(StoredRequest))]
internal sealed partial class StoredRequestJsonContext : JsonSerializerContext;
