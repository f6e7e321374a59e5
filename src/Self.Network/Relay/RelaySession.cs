using System.Net.WebSockets;
using System.Threading.Channels;
using Self.Network.Diagnostics;
using Self.Network.Http;
using Self.Network.Policy;
using Self.Network.Storage;
using Self.Protocol.Frames;
using Self.Protocol.Identifiers;

namespace Self.Network.Relay;

/// <summary>
/// One messaging websocket (spec §6): Auth handshake, then three loops. The read loop checks each client frame
/// and starts storing accepted messages; the reply loop answers every frame with exactly one Notification, in
/// order, ACKing a message only once its append has committed; the delivery loop sends the inbox, oldest first,
/// reading the store after the client's offset whenever it is told the inbox grew.
/// </summary>
internal sealed partial class RelaySession
{
    private const int ReceiveChunk = 16 * 1024;
    private const int DeliveryBatch = 100;
    private const int MaxPendingReplies = 64;

    /// <summary>How long a peer gets to answer our close frame before the socket is dropped (real time: a network timeout).</summary>
    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(5);

    private readonly WebSocket _socket;
    private readonly RelayContext _relay;
    private readonly CancellationToken _aborted;
    private readonly CancellationTokenSource _stop;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Channel<bool> _inboxGrew = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Channel<PendingReply> _replies = Channel.CreateBounded<PendingReply>(new BoundedChannelOptions(MaxPendingReplies) { SingleReader = true, SingleWriter = true });
    private readonly SlidingWindow? _frameWindow;
    private IDisposable? _subscription;
    private IDisposable? _claim;
    private string _identityId = string.Empty;
    private volatile bool _closeSent;
    private bool _authenticated;
    private long _deliveredMessages;
    private long _deliveredBytes;

    public RelaySession(WebSocket socket, RelayContext relay, CancellationToken aborted)
    {
        _socket = socket;
        _relay = relay;
        _aborted = aborted;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var limits = relay.Options.RateLimits;
        _frameWindow = limits.FramesPerConnection > 0 ? new SlidingWindow(limits.FramesPerConnection, limits.FrameWindow) : null;
    }

    /// <summary>The authenticated address, <c>id:device</c> (empty before authentication).</summary>
    public string Address { get; private set; } = string.Empty;

    /// <summary>The messages (and their bytes) this connection has sent of its inbox since its Auth: stored until the next Auth confirms them.</summary>
    public (long Messages, long Bytes) DeliveredUnconfirmed => (Interlocked.Read(ref _deliveredMessages), Interlocked.Read(ref _deliveredBytes));

    private string LogName => Address.Length > 0 ? Address : "(unauthenticated)";

    public async Task RunAsync()
    {
        Task? replies = null;
        Task? delivery = null;
        var closeStatus = "aborted";
        try
        {
            var offset = await AuthenticateAsync().ConfigureAwait(false);
            if (offset is null)
            {
                closeStatus = "authentication refused";
                return;
            }

            replies = Task.Run(ReplyLoopAsync);
            delivery = Task.Run(() => DeliveryLoopAsync(offset.Value));
            closeStatus = await ReadLoopAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            closeStatus = _aborted.IsCancellationRequested ? "aborted by the peer" : "stopped";
        }
        catch (WebSocketException ex)
        {
            closeStatus = "lost: " + ex.WebSocketErrorCode;
        }
        catch (Exception ex)
        {
            Log.ConnectionFailed(_relay.Logger, LogName, ex);
        }
        finally
        {
            _replies.Writer.TryComplete();
            await _stop.CancelAsync().ConfigureAwait(false);
            await Quietly(replies).ConfigureAwait(false);
            await Quietly(delivery).ConfigureAwait(false);
            _subscription?.Dispose();
            _claim?.Dispose();
            if (_authenticated)
            {
                _relay.Hub.Remove(this);
                _relay.Metrics.ConnectionClosed();
            }

            Log.ConnectionClosed(_relay.Logger, LogName, closeStatus);
            _stop.Dispose();
        }
    }

    /// <summary>Sends a close frame (1011 when superseded, 1001 at shutdown) and drops the socket if the peer does not answer.</summary>
    public async Task CloseAsync(WebSocketCloseStatus status, string reason)
    {
        // Nothing more goes out; the read loop keeps reading until the peer answers the close.
        await SendCloseAsync(status, reason).ConfigureAwait(false);
        _ = AbortLaterAsync();
    }

    private async Task SupersededAsync()
    {
        Log.Superseded(_relay.Logger, Address);
        try
        {
            await CloseAsync(WebSocketCloseStatus.InternalServerError, "connection superseded").ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The connection ended while it was being superseded.
        }
    }

    // ---- handshake ----

    /// <summary>Runs the Auth handshake; returns the client's offset, or null when the connection was refused and closed.</summary>
    private async Task<long?> AuthenticateAsync()
    {
        using var timeout = new CancellationTokenSource(_relay.Options.AuthTimeout, _relay.Options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, timeout.Token, _relay.Hub.ShutdownToken);
        Received first;
        try
        {
            first = await ReceiveAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested || _relay.Hub.ShutdownToken.IsCancellationRequested)
        {
            // No Auth in time, or the server is stopping: the socket was dropped by the cancellation.
            return null;
        }

        switch (first.Kind)
        {
            case ReceivedKind.Close:
                return null;
            case ReceivedKind.TooLarge:
                await RefuseOversizedAsync(first.Size).ConfigureAwait(false);
                return null;
        }

        AuthFrame? auth;
        try
        {
            auth = FrameCodec.Decode(first.Bytes) as AuthFrame;
        }
        catch (FrameFormatException)
        {
            auth = null;
        }

        if (auth is null)
        {
            await RefuseAuthAsync(string.Empty, "the first frame must be Auth").ConfigureAwait(false);
            return null;
        }

        var reason = await CheckAuthAsync(auth).ConfigureAwait(false);
        if (reason is not null)
        {
            await RefuseAuthAsync(auth.Id, reason).ConfigureAwait(false);
            return null;
        }

        // Listen before the first read of the inbox, so nothing appended in between goes unnoticed.
        _subscription = _relay.Notifier.Subscribe(Address, _ => _inboxGrew.Writer.TryWrite(true));
        _relay.Hub.Add(this);
        _authenticated = true;
        _relay.Metrics.ConnectionOpened();

        // An older connection of this address, here or on another instance, is closed as this one takes over.
        _claim = _relay.Claims.Claim(Address, () => _ = SupersededAsync());

        await SendAsync(FrameCodec.Encode(NotificationFrame.Ack(auth.Id)), _stop.Token).ConfigureAwait(false);
        Log.Authenticated(_relay.Logger, Address);
        return Math.Max(0, auth.Offset);
    }

    /// <summary>Checks the token (spec §4) and that it is signed by the current key of the named device; null when all is well.</summary>
    private async Task<string?> CheckAuthAsync(AuthFrame auth)
    {
        Authentication.Caller caller;
        try
        {
            caller = await _relay.Authenticator.AuthenticateAsync(auth.Token, _stop.Token).ConfigureAwait(false);
        }
        catch (ApiException ex)
        {
            return ex.Message;
        }

        if (!SelfIds.IsDeviceId(auth.Device))
        {
            return "'device' is not a valid device id";
        }

        var current = caller.Identity.Graph.CurrentDeviceKey(auth.Device);
        if (current is null)
        {
            return $"{caller.Id} has no device '{auth.Device}' with a current key";
        }

        if (!string.Equals(current.Kid, caller.Claims.Kid, StringComparison.Ordinal))
        {
            return $"the token is signed by key '{caller.Claims.Kid}', not by the current key of device '{auth.Device}'";
        }

        if (!await _relay.Devices.IsActiveAsync(caller.Id, auth.Device, _stop.Token).ConfigureAwait(false))
        {
            return $"device '{auth.Device}' of {caller.Id} is not active";
        }

        _identityId = caller.Id;
        Address = caller.Id + ":" + auth.Device;
        return null;
    }

    private async Task RefuseAuthAsync(string id, string reason)
    {
        _relay.Metrics.Refused("auth_failed");
        Log.AuthenticationRefused(_relay.Logger, reason);
        await SendAsync(FrameCodec.Encode(NotificationFrame.Err(id, ErrType.ErrAuth, reason)), _stop.Token).ConfigureAwait(false);
        await SendCloseAsync(WebSocketCloseStatus.PolicyViolation, "authentication failed").ConfigureAwait(false);
        await DrainAsync().ConfigureAwait(false);
    }

    // ---- client frames ----

    private async Task<string> ReadLoopAsync()
    {
        while (true)
        {
            var received = await ReceiveAsync(_stop.Token).ConfigureAwait(false);
            switch (received.Kind)
            {
                case ReceivedKind.Close:
                    await SendCloseAsync(WebSocketCloseStatus.NormalClosure, string.Empty).ConfigureAwait(false);
                    return received.CloseStatus == 3999 ? "closed on purpose (3999)" : $"closed by the peer ({received.CloseStatus})";
                case ReceivedKind.TooLarge:
                    await RefuseOversizedAsync(received.Size).ConfigureAwait(false);
                    return "frame too large";
            }

            if (_closeSent)
            {
                // Superseded or shutting down: nothing more is accepted; wait for the peer's close.
                continue;
            }

            await HandleFrameAsync(received.Bytes).ConfigureAwait(false);
        }
    }

    private async Task HandleFrameAsync(byte[] bytes)
    {
        var now = _relay.Options.TimeProvider.GetUtcNow();
        if (_frameWindow is not null && !_frameWindow.TryAcquire(now, null, out var wait))
        {
            await RefuseAsync(TryReadId(bytes), ErrType.ErrMessage, RateLimitedText(wait), "rate_limited").ConfigureAwait(false);
            return;
        }

        Frame frame;
        try
        {
            frame = FrameCodec.Decode(bytes);
        }
        catch (FrameFormatException ex)
        {
            await RefuseAsync(TryReadId(bytes), ErrType.ErrBadRequest, "the frame could not be parsed: " + ex.Message, "bad_frame").ConfigureAwait(false);
            return;
        }

        _relay.Metrics.FrameReceived(FrameType(frame));
        switch (frame)
        {
            case MessageFrame message:
                await HandleMessageAsync(message, bytes, now).ConfigureAwait(false);
                break;
            case AuthFrame:
                await RefuseAsync(frame.Id, ErrType.ErrBadRequest, "this connection is already authenticated", "bad_frame").ConfigureAwait(false);
                break;
            case WatchFrame:
                await RefuseAsync(frame.Id, ErrType.ErrWatch, "watching presence is not supported by this server", "watch_unsupported").ConfigureAwait(false);
                break;
            case NotificationFrame:
                // Clients have nothing to acknowledge to the server; ignore rather than answer an answer.
                break;
            default:
                await RefuseAsync(frame.Id, ErrType.ErrBadRequest, "the server does not accept this kind of frame", "bad_frame").ConfigureAwait(false);
                break;
        }
    }

    private async Task HandleMessageAsync(MessageFrame message, byte[] bytes, DateTimeOffset now)
    {
        // The span covers checks, the store commit and the ACK; it is ended by the reply loop. Only the frame id is
        // recorded: it is what the sender's SDK knows the message by, and the server sees nothing more private.
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var activity = NetworkMetrics.ActivitySource.StartActivity("self.network.message", System.Diagnostics.ActivityKind.Server);
        activity?.SetTag("self.frame.id", message.Id);
        try
        {
            await HandleCheckedMessageAsync(message, bytes, now, started, activity).ConfigureAwait(false);
        }
        catch
        {
            activity?.Dispose();
            throw;
        }
    }

    private async Task HandleCheckedMessageAsync(MessageFrame message, byte[] bytes, DateTimeOffset now, long started, System.Diagnostics.Activity? activity)
    {
        if (!string.Equals(message.Sender, Address, StringComparison.Ordinal))
        {
            await RefuseAsync(message.Id, ErrType.ErrMessage, $"sender {message.Sender} is not the authenticated address {Address}", "sender_mismatch", started, activity).ConfigureAwait(false);
            return;
        }

        if (!Protocol.Identifiers.Address.TryParse(message.Recipient, out var to))
        {
            await RefuseAsync(message.Id, ErrType.ErrMessage, $"recipient '{message.Recipient}' is not an address (<id>:<device>)", "unknown_recipient", started, activity).ConfigureAwait(false);
            return;
        }

        var recipient = await _relay.Identities.GetAsync(to.Id, _stop.Token).ConfigureAwait(false);
        if (recipient is null || !await _relay.Devices.IsActiveAsync(to.Id, to.Device, _stop.Token).ConfigureAwait(false))
        {
            await RefuseAsync(message.Id, ErrType.ErrMessage, $"unknown recipient {message.Recipient}", "unknown_recipient", started, activity).ConfigureAwait(false);
            return;
        }

        var toSelf = string.Equals(to.Id, _identityId, StringComparison.Ordinal);
        if (!toSelf && recipient.Type == IdentityType.Individual
            && !await _relay.Connections.IsPermittedAsync(to.Id, _identityId, now, _stop.Token).ConfigureAwait(false))
        {
            await RefuseAsync(message.Id, ErrType.ErrMessage, $"recipient {to.Id} has not connected to {_identityId}", "not_connected", started, activity).ConfigureAwait(false);
            return;
        }

        if (await InboxFullAsync(to.ToString(), bytes.Length).ConfigureAwait(false) is { } full)
        {
            await RefuseAsync(message.Id, ErrType.ErrMessage, full, "inbox_full", started, activity).ConfigureAwait(false);
            return;
        }

        // Traffic to one's own devices has a budget of its own (it used to be unlimited); to others, per recipient.
        var acquired = toSelf
            ? _relay.RateLimits.SelfMessages.TryAcquire(_identityId, out var wait, message.Id, to.Device)
            : _relay.RateLimits.Messages.TryAcquire(_identityId + ">" + to.Id, out wait, message.Id, to.Device);
        if (!acquired)
        {
            await RefuseAsync(message.Id, ErrType.ErrMessage, RateLimitedText(wait), "rate_limited", started, activity).ConfigureAwait(false);
            return;
        }

        // What is stored is what the recipient gets, stamped on delivery: the client's bytes, or (when they lack
        // the required metadata struct) the message encoded afresh.
        byte[] stored;
        try
        {
            FrameCodec.StampMetadata(bytes, 0, 0);
            stored = bytes;
        }
        catch (FrameFormatException)
        {
            stored = FrameCodec.Encode(message with { Timestamp = 0, Offset = 0 });
        }

        var append = AppendAsync(to.ToString(), UnixTime.Nanoseconds(now), stored);
        await _replies.Writer.WriteAsync(new PendingReply(message.Id, append, null, started, activity), _stop.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// Stores a message and tells the recipient's connection. Not cancellable: once handed to the store the message
    /// may commit, and then the recipient must hear of it even if this sender has gone.
    /// </summary>
    private async Task<long> AppendAsync(string inbox, long timestamp, byte[] frame)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var offset = await _relay.Inboxes.AppendAsync(inbox, timestamp, frame, CancellationToken.None).ConfigureAwait(false);
        _relay.Metrics.StoreCall("append", started);
        _relay.Notifier.Publish(inbox, offset);
        _relay.Metrics.MessageAccepted();
        return offset;
    }

    /// <summary>The refusal text when the inbox holds as many messages or bytes as the caps allow; else null.</summary>
    private async Task<string?> InboxFullAsync(string inbox, int frameBytes)
    {
        var options = _relay.Options;
        if (options.MaxInboxMessages == 0 && options.MaxInboxBytes == 0)
        {
            return null;
        }

        if (await _relay.Inboxes.SizeAsync(inbox, _stop.Token).ConfigureAwait(false) is not { } stored)
        {
            return null;
        }

        // The caps are on what waits for its device. Messages already sent over a live connection stay stored only
        // until that device's next Auth confirms them (spec §6 has no other confirmation), so they do not count: a
        // busy app that stays connected would otherwise fill its inbox with answers it has long processed.
        var (sentMessages, sentBytes) = _relay.Hub.DeliveredUnconfirmed(inbox);
        var size = new InboxSize(Math.Max(0, stored.Messages - sentMessages), Math.Max(0, stored.Bytes - sentBytes));

        if (options.MaxInboxMessages > 0 && size.Messages >= options.MaxInboxMessages)
        {
            return $"inbox full: {inbox} holds {size.Messages} undelivered messages, the most allowed ({options.MaxInboxMessages}); retry once its device has read them";
        }

        if (options.MaxInboxBytes > 0 && size.Bytes + frameBytes > options.MaxInboxBytes)
        {
            return $"inbox full: {inbox} holds {size.Bytes} bytes undelivered and this frame would pass the cap of {options.MaxInboxBytes} bytes; retry once its device has read them";
        }

        return null;
    }

    private async Task RefuseAsync(string id, ErrType type, string reason, string metric, long started = 0, System.Diagnostics.Activity? activity = null)
    {
        _relay.Metrics.Refused(metric);
        Log.MessageRefused(_relay.Logger, LogName, type.ToString(), reason);
        activity?.SetTag("self.refusal", metric);
        activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, metric);
        await _replies.Writer.WriteAsync(new PendingReply(id, null, NotificationFrame.Err(id, type, reason), started, activity), _stop.Token).ConfigureAwait(false);
    }

    private async Task RefuseOversizedAsync(long size)
    {
        _relay.Metrics.Refused("frame_too_large");
        Log.FrameTooLarge(_relay.Logger, LogName, size);

        // Earlier frames are answered first: the ERR is the last notification on this connection.
        _replies.Writer.TryComplete();
        await _replies.Reader.Completion.ConfigureAwait(false);
        var reason = $"the frame is larger than {_relay.Options.MaxFrameBytes} bytes";
        await SendAsync(FrameCodec.Encode(NotificationFrame.Err(string.Empty, ErrType.ErrBadRequest, reason)), _stop.Token).ConfigureAwait(false);
        await SendCloseAsync(WebSocketCloseStatus.MessageTooBig, "frame too large").ConfigureAwait(false);
        await DrainAsync().ConfigureAwait(false);
    }

    private static string FrameType(Frame frame) => frame switch
    {
        MessageFrame => "message",
        AuthFrame => "auth",
        WatchFrame => "watch",
        NotificationFrame => "notification",
        _ => "other",
    };

    private static string RateLimitedText(TimeSpan wait) => $"rate limited; retry after {KeyedRateLimiter.ToRetrySeconds(wait)} s";

    /// <summary>The id of a frame that did not decode, when at least its header did; else empty.</summary>
    private static string TryReadId(byte[] bytes) => FrameCodec.TryReadHeader(bytes, out var id, out _) ? id : string.Empty;
}
