using Self.Protocol.Frames;
using Self.Protocol.Jws;
using Self.Protocol.Messages;

namespace Self.Device;

/// <summary>How a request reached the device.</summary>
public enum RequestOrigin
{
    /// <summary>An app sent it to this user through the network.</summary>
    Message = 0,

    /// <summary>The person scanned a QR code.</summary>
    QrCode = 1,

    /// <summary>The person opened a deep link.</summary>
    DeepLink = 2,
}

/// <summary>The answer a device gave to a request.</summary>
public enum RequestAnswer
{
    /// <summary>The person (or the consent policy) said yes.</summary>
    Accepted = 0,

    /// <summary>The person (or the consent policy) said no.</summary>
    Rejected = 1,

    /// <summary>The user has not connected to the app; answered by the device without showing the request.</summary>
    Unauthorized = 2,
}

/// <summary>
/// An authentication request that passed every check of the spec (signed by the app's key valid at <c>iat</c>,
/// addressed to this user or to anyone, not expired, expiring within 24 hours, not seen before). Show it to the person
/// and answer with <see cref="AcceptAsync(CancellationToken)"/> or <see cref="RejectAsync"/>; the answer is signed with the device's
/// current key and encrypted to every device of the app. Thread-safe: the first answer wins.
/// </summary>
public sealed class IncomingRequest
{
    private const int Open = 0;
    private const int Answering = 1;
    private const int Done = 2;

    private readonly SelfDevice _device;
    private int _state;
    private RequestAnswer? _answer;
    private readonly NumberMatch? _numberMatch;
    private int _wrongNumbers;

    internal IncomingRequest(SelfDevice device, FlattenedJws jws, AuthenticationRequestClaims claims, string? appName, RequestOrigin origin)
    {
        _device = device;
        Jws = jws;
        Type = claims.Typ;
        AppId = claims.Iss;
        AppName = appName;
        Description = claims.Description;
        BindingMessage = claims.BindingMessage;
        IssuedAt = claims.Iat;
        ExpiresAt = claims.Exp;
        ConversationId = claims.Cid!;
        RequestId = claims.Jti;
        Subject = claims.Sub;
        Origin = origin;
        _numberMatch = claims.NumberMatch;
    }

    /// <summary>
    /// True when the app asks for number matching (spec §9a): ask the person to type the number shown on the app's
    /// sign-in screen — the device never knows or shows it — and accept with <see cref="AcceptAsync(string, CancellationToken)"/>.
    /// </summary>
    public bool RequiresNumber => _numberMatch is not null;

    /// <summary>The app that asks.</summary>
    public string AppId { get; }

    /// <summary>The app's name: the request's <c>app_name</c>, else the name the network knows; null when neither is known.</summary>
    public string? AppName { get; }

    /// <summary>Why the app asks, when it says.</summary>
    public string? Description { get; }

    /// <summary>A short text the app shows too, so that the person can match the two screens.</summary>
    public string? BindingMessage { get; }

    /// <summary>When the app issued the request.</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>After this the request can no longer be answered.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The conversation id the answer carries back.</summary>
    public string ConversationId { get; }

    /// <summary>The request's message id (<c>jti</c>).</summary>
    public string RequestId { get; }

    /// <summary>The request's <c>typ</c>: <c>identities.facts.query.req</c>, or the legacy <c>identities.authenticate.req</c>.</summary>
    public string Type { get; }

    /// <summary>True for the legacy form (<c>identities.authenticate.req</c>).</summary>
    public bool IsLegacy => Type == MessageTypes.AuthenticateRequest;

    /// <summary>The user asked, or <c>-</c> when anyone may answer (QR codes and deep links).</summary>
    public string Subject { get; }

    /// <summary>How the request reached the device.</summary>
    public RequestOrigin Origin { get; }

    /// <summary>The answer given, or null while the request is open.</summary>
    public RequestAnswer? Answer => Volatile.Read(ref _state) == Done ? _answer : null;

    /// <summary>The signed request as the app sent it.</summary>
    internal FlattenedJws Jws { get; }

    /// <summary>True while the request is kept in the device's store of open requests.</summary>
    internal bool IsStored { get; set; }

    /// <summary>The key of this request in the device's store of open requests.</summary>
    internal string StoreKey => AppId + "/" + ConversationId;

    /// <summary>The frame subtype of the answer.</summary>
    internal MsgSubType ResponseSubtype => Origin switch
    {
        RequestOrigin.QrCode => MsgSubType.AuthenticationQRResp,
        RequestOrigin.DeepLink => MsgSubType.AuthenticationDeepLinkResp,
        _ => MsgSubType.AuthenticationResp,
    };

    /// <summary>Accepts: sends <c>accepted</c> to every device of the app.</summary>
    /// <exception cref="NumberMismatchException">The request needs the number (<see cref="RequiresNumber"/>); nothing is sent.</exception>
    /// <exception cref="RequestExpiredException">The request has expired; nothing is sent.</exception>
    /// <exception cref="RequestAlreadyAnsweredException">The request was already answered.</exception>
    public Task AcceptAsync(CancellationToken cancellationToken = default)
    {
        if (RequiresNumber)
        {
            throw new NumberMismatchException(
                ConversationId, NumberMismatchException.MaxAttempts - Volatile.Read(ref _wrongNumbers),
                "This request uses number matching: type the number shown on the app's screen and accept with it.");
        }

        return _device.AnswerAsync(this, RequestAnswer.Accepted, byPolicy: false, cancellationToken);
    }

    /// <summary>
    /// Accepts with the number the person typed (number matching, spec §9a): sent only when it is the number the app
    /// shows; the signed answer carries it. For a request without number matching the number is not needed and is
    /// not sent.
    /// </summary>
    /// <exception cref="NumberMismatchException">
    /// Not the app's number; nothing is sent. After <see cref="NumberMismatchException.MaxAttempts"/> wrong numbers the
    /// device rejects the request (the exception then says so, with <see cref="NumberMismatchException.AttemptsLeft"/> 0).
    /// </exception>
    /// <exception cref="RequestExpiredException">The request has expired; nothing is sent.</exception>
    /// <exception cref="RequestAlreadyAnsweredException">The request was already answered.</exception>
    public async Task AcceptAsync(string number, CancellationToken cancellationToken = default)
    {
        if (_numberMatch is null)
        {
            await _device.AnswerAsync(this, RequestAnswer.Accepted, byPolicy: false, cancellationToken).ConfigureAwait(false);
            return;
        }

        var typed = number?.Trim();
        if (_numberMatch.Matches(typed))
        {
            await _device.AnswerAsync(this, RequestAnswer.Accepted, byPolicy: false, cancellationToken, typed).ConfigureAwait(false);
            return;
        }

        if (Answer is { } answered)
        {
            throw new RequestAlreadyAnsweredException(ConversationId, answered.ToString().ToLowerInvariant());
        }

        var wrong = Interlocked.Increment(ref _wrongNumbers);
        var left = Math.Max(0, NumberMismatchException.MaxAttempts - wrong);
        if (left > 0)
        {
            throw new NumberMismatchException(
                ConversationId, left, $"That is not the number shown on the app's screen; {left} {(left == 1 ? "try" : "tries")} left.");
        }

        // Out of tries: the person cannot see the app's screen (or is guessing); say no so the number cannot be found by trying.
        try
        {
            await _device.AnswerAsync(this, RequestAnswer.Rejected, byPolicy: false, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestAlreadyAnsweredException)
        {
        }

        throw new NumberMismatchException(ConversationId, 0, "That is not the number shown on the app's screen; the request was rejected after too many wrong numbers.");
    }

    /// <summary>Rejects: sends <c>rejected</c> to every device of the app.</summary>
    /// <exception cref="RequestExpiredException">The request has expired; nothing is sent.</exception>
    /// <exception cref="RequestAlreadyAnsweredException">The request was already answered.</exception>
    public Task RejectAsync(CancellationToken cancellationToken = default) =>
        _device.AnswerAsync(this, RequestAnswer.Rejected, byPolicy: false, cancellationToken);

    /// <inheritdoc />
    public override string ToString() => $"IncomingRequest({Type} {ConversationId} from {AppId}, expires {ExpiresAt:u})";

    internal bool TryBeginAnswer() => Interlocked.CompareExchange(ref _state, Answering, Open) == Open;

    internal void CompleteAnswer(RequestAnswer answer)
    {
        _answer = answer;
        Volatile.Write(ref _state, Done);
    }

    internal void AbortAnswer() => Volatile.Write(ref _state, Open);

    /// <summary>
    /// The answer signed by the last attempt that did not get through, with the answer and number it carries. Another attempt
    /// with the same answer and number sends this one again (same <c>jti</c>), so when the first copy was stored after all the app keeps one
    /// and drops the other as a replay.
    /// </summary>
    internal (RequestAnswer Answer, string? Number, FlattenedJws Jws)? UnsentAnswer { get; set; }

    /// <summary>
    /// The message it came in, while its receive may not be committed yet: the answer's commit then carries it
    /// (<see cref="Self.Messaging.ReceivedMessage.Commit"/>). Null for scanned requests and those restored from the store.
    /// </summary>
    internal Self.Messaging.ReceivedMessage? Received { get; init; }

    internal string StateDescription => Volatile.Read(ref _state) == Done ? _answer.ToString()!.ToLowerInvariant() : "being answered";
}

/// <summary>A request was answered, by a person, by the consent policy, or automatically (unauthorized).</summary>
public sealed class RequestAnsweredEventArgs(IncomingRequest request, RequestAnswer answer, bool byPolicy) : EventArgs
{
    /// <summary>The request.</summary>
    public IncomingRequest Request { get; } = request;

    /// <summary>The answer sent.</summary>
    public RequestAnswer Answer { get; } = answer;

    /// <summary>True when the device answered without a person: the consent policy decided, or the app was not connected.</summary>
    public bool ByPolicy { get; } = byPolicy;
}
