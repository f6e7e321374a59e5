using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Self.Protocol.Auth;
using Self.Protocol.Frames;
using Self.Protocol.Identifiers;

namespace Self.Messaging;

// Why this file stays whole (~700 lines, issue 9): it is one state machine. Connecting, receiving, reconnecting and
// closing all read and replace the same current Session (its socket and its queue of sends awaiting an answer) and
// the _ready promise, and each section's invariants (a send is answered on the session it went out on; a drop fails
// exactly the sends of that session; superseding and an auth refusal stop the supervisor) are only checkable with the
// others in view.
// The parts that are not that state machine already live elsewhere: Backoff, MessagingConnectionOptions, ConnectionState.

/// <summary>
/// The <c>/v2/messaging</c> websocket session of one address (spec §6), from the client side. It authenticates with a
/// fresh token and the last processed offset, matches the server's answers to sent messages in order, hands incoming
/// messages one at a time to a handler, and reconnects with back-off after a drop, re-authenticating with the latest
/// processed offset. It does not reconnect after the server refused authentication or after another connection of
/// the same address superseded it (close 1011). Thread-safe.
/// </summary>
internal sealed class MessagingConnection : IAsyncDisposable
{
    /// <summary>Close code a client sends when it closes on purpose (spec §6).</summary>
    public const int ClosedOnPurposeCode = 3999;

    private const string SupersededReason = "connection superseded";

    private readonly MessagingConnectionOptions _options;
    private readonly Func<MessageFrame, CancellationToken, ValueTask> _handler;
    private readonly ILogger _logger;
    private readonly string _address;
    private readonly Channel<MessageFrame> _incoming =
        Channel.CreateUnbounded<MessageFrame>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    private readonly CancellationTokenSource _lifetime = new();
    private readonly CancellationToken _lifetimeToken;
    private readonly Lock _gate = new();
    private TaskCompletionSource<Session> _ready = NewReady();
    private Session? _session;
    private ConnectionState _state = ConnectionState.Created;
    private Exception? _stopReason;
    private long _processedOffset;
    private Task? _supervisor;
    private Task? _dispatcher;
    private volatile bool _disposed;

    /// <summary>
    /// Creates the connection. <paramref name="handler"/> receives every incoming <see cref="MessageFrame"/>, one at a
    /// time and in order; after a reconnect the server may deliver a frame again, so the handler skips what it has
    /// processed (by offset) and calls <see cref="AdvanceProcessedOffset"/> once a frame is durably processed.
    /// </summary>
    public MessagingConnection(MessagingConnectionOptions options, Func<MessageFrame, CancellationToken, ValueTask> handler, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.MessagingUri);
        ArgumentNullException.ThrowIfNull(options.SigningKey);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentException.ThrowIfNullOrEmpty(options.IdentityId);
        ArgumentException.ThrowIfNullOrEmpty(options.DeviceId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxFrameBytes);
        _options = options;
        _handler = handler;
        _logger = logger ?? NullLogger.Instance;
        Address = new Address(options.IdentityId, options.DeviceId);
        _address = Address.ToString();
        _lifetimeToken = _lifetime.Token;
    }

    /// <summary>Raised after each successful authentication (the first one and every reconnect).</summary>
    public event EventHandler? Connected;

    /// <summary>Raised when the socket is lost; <see cref="MessagingDisconnectedEventArgs.WillReconnect"/> says what happens next.</summary>
    public event EventHandler<MessagingDisconnectedEventArgs>? Disconnected;

    /// <summary>The inbox address of this connection.</summary>
    public Address Address { get; }

    /// <summary>Where the connection is in its life.</summary>
    public ConnectionState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>The highest offset the layer above has durably processed; sent in each Auth frame.</summary>
    public long ProcessedOffset => Interlocked.Read(ref _processedOffset);

    /// <summary>Records that every message up to <paramref name="offset"/> is durably processed. Lower values are ignored.</summary>
    public void AdvanceProcessedOffset(long offset)
    {
        var current = Interlocked.Read(ref _processedOffset);
        while (offset > current)
        {
            var seen = Interlocked.CompareExchange(ref _processedOffset, offset, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>
    /// Opens the socket and authenticates. Throws <see cref="AuthenticationFailedException"/> when the server refuses
    /// (no retry), <see cref="ServerUnreachableException"/> when it cannot be reached after the configured retries.
    /// </summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_gate)
        {
            if (_state != ConnectionState.Created)
            {
                throw new InvalidOperationException($"ConnectAsync was already called (the connection is {_state}).");
            }

            _state = ConnectionState.Connecting;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
        Session session;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                session = await ConnectOnceAsync(linked.Token).ConfigureAwait(false);
                break;
            }
            catch (AuthenticationFailedException ex)
            {
                Log.AuthenticationRefused(_logger, _address, ex.Reason);
                Stop(ConnectionState.Failed, ex);
                throw;
            }
            catch (Exception ex) when (IsConnectFailure(ex, linked.Token))
            {
                if (attempt >= _options.InitialConnectRetries)
                {
                    SetState(ConnectionState.Created);
                    throw new ServerUnreachableException(
                        $"the messaging server at {_options.MessagingUri} could not be reached after {attempt + 1} attempt(s): {ex.Message}", ex);
                }

                var delay = Backoff.Delay(attempt, _options.ReconnectBaseDelay, _options.ReconnectMaxDelay);
                Log.Reconnecting(_logger, _address, ex.Message, attempt + 1, delay);
                await Task.Delay(delay, _options.TimeProvider, linked.Token).ConfigureAwait(false);
            }
            catch
            {
                SetState(ConnectionState.Created);
                throw;
            }
        }

        _dispatcher = Task.Run(DispatchLoopAsync, CancellationToken.None);
        _supervisor = Task.Run(() => SuperviseAsync(session), CancellationToken.None);
    }

    /// <summary>
    /// Sends one message frame and completes when the server's ACK for it arrives; an ERR becomes
    /// <see cref="MessageRefusedException"/>. Waits (up to <see cref="MessagingConnectionOptions.ConnectWaitTimeout"/>)
    /// for a dropped connection to come back. A frame larger than the server accepts is refused before sending.
    /// </summary>
    public async Task SendAsync(MessageFrame frame, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var bytes = FrameCodec.Encode(frame);
        if (bytes.Length > _options.MaxFrameBytes)
        {
            throw new MessageRefusedException(
                ErrType.ErrBadRequest,
                $"message {frame.Id} is a frame of {bytes.Length} bytes; the server accepts at most {_options.MaxFrameBytes} bytes");
        }

        var pending = new PendingSend(frame.Id, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        while (!await TrySendAsync(frame.Id, bytes, pending, cancellationToken).ConfigureAwait(false))
        {
            // The session dropped before the frame left: nothing was sent, so wait for the next one and send there.
        }

        await pending.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> TrySendAsync(string id, byte[] bytes, PendingSend pending, CancellationToken cancellationToken)
    {
        var session = await WaitForSessionAsync(cancellationToken).ConfigureAwait(false);
        await session.SendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (session.Pending)
            {
                if (session.Closed)
                {
                    return false;
                }

                // Queued before the bytes leave, so the answer can never arrive before its waiter.
                session.Pending.Enqueue(pending);
            }

            try
            {
                // Never cancel a send half-way: that would tear the frame and the socket with it.
                await session.Socket.SendAsync(bytes, WebSocketMessageType.Binary, true, _lifetimeToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
            {
                var lost = new ConnectionLostException($"the connection dropped while sending message {id}; it may or may not have been stored", ex);
                pending.Completion.TrySetException(lost);
                session.Socket.Abort();
                throw lost;
            }

            return true;
        }
        finally
        {
            session.SendLock.Release();
        }
    }

    /// <summary>Closes the socket with code 3999 ("closed on purpose") and stops reconnecting.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Session? session;
        lock (_gate)
        {
            session = _session;
            _state = ConnectionState.Closed;
            _ready.TrySetException(new ObjectDisposedException(nameof(MessagingConnection)));
        }

        if (session is not null)
        {
            await CloseOnPurposeAsync(session).ConfigureAwait(false);
        }

        await _lifetime.CancelAsync().ConfigureAwait(false);
        session?.Socket.Abort();
        _incoming.Writer.TryComplete();
        foreach (var task in new[] { _supervisor, _dispatcher })
        {
            if (task is not null)
            {
                await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        if (session is not null)
        {
            FailPending(session, new ConnectionLostException("the connection was closed before the server answered"));
            session.Dispose();
        }

        _lifetime.Dispose();
        Log.Closed(_logger, _address);
    }

    // ---- Connecting ----------------------------------------------------------------------------------------

    private async Task<Session> ConnectOnceAsync(CancellationToken cancellationToken)
    {
        SetState(ConnectionState.Connecting);
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = _options.KeepAliveInterval;
        socket.Options.KeepAliveTimeout = _options.KeepAliveTimeout;
        _options.ConfigureWebSocket?.Invoke(socket.Options);

        using var timeout = new CancellationTokenSource(_options.AuthenticationTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await socket.ConnectAsync(_options.MessagingUri, linked.Token).ConfigureAwait(false);
            var authId = Guid.NewGuid().ToString();
            var offset = ProcessedOffset;
            var token = AuthToken.Create(_options.SigningKey, _options.IdentityId, _options.TimeProvider);
            var auth = FrameCodec.Encode(new AuthFrame(authId, token, _options.DeviceId, offset));
            await socket.SendAsync(auth, WebSocketMessageType.Binary, true, linked.Token).ConfigureAwait(false);

            var first = await ReceiveFrameAsync(socket, linked.Token).ConfigureAwait(false)
                ?? throw new WebSocketException(
                    $"the server closed the socket before answering the Auth frame ({(int?)socket.CloseStatus} {socket.CloseStatusDescription})");
            var answer = FrameCodec.Decode(first);
            if (answer is not NotificationFrame notification || notification.Id != authId)
            {
                throw new AuthenticationFailedException("the server's first frame was not the answer to the Auth frame");
            }

            if (notification.Type != MsgType.Ack)
            {
                throw new AuthenticationFailedException(string.IsNullOrEmpty(notification.Error) ? "no reason given" : notification.Error);
            }

            var session = new Session(socket);
            lock (_gate)
            {
                if (_disposed)
                {
                    throw new OperationCanceledException("the connection was disposed while authenticating");
                }

                _session = session;
                _state = ConnectionState.Connected;
                _ready.TrySetResult(session);
            }

            session.ReceiveTask = Task.Run(() => ReceiveLoopAsync(session), CancellationToken.None);
            Log.Authenticated(_logger, _address, offset);
            Connected?.Invoke(this, EventArgs.Empty);
            return session;
        }
        catch (OperationCanceledException ex) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException($"the messaging server did not answer within {_options.AuthenticationTimeout}", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static bool IsConnectFailure(Exception exception, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested
        && exception is WebSocketException or HttpRequestException or IOException or TimeoutException or FrameFormatException
            or System.Net.Sockets.SocketException;

    // ---- Receiving -------------------------------------------------------------------------------------------

    private async Task<DropInfo> ReceiveLoopAsync(Session session)
    {
        var token = _lifetimeToken;
        try
        {
            while (true)
            {
                var bytes = await ReceiveFrameAsync(session.Socket, token).ConfigureAwait(false);
                if (bytes is null)
                {
                    var status = session.Socket.CloseStatus;
                    var description = session.Socket.CloseStatusDescription ?? string.Empty;
                    await AcknowledgeCloseAsync(session.Socket).ConfigureAwait(false);
                    var superseded = status == WebSocketCloseStatus.InternalServerError
                        && description.Contains(SupersededReason, StringComparison.OrdinalIgnoreCase);
                    return new DropInfo($"the server closed the connection ({(int?)status} {description})".TrimEnd(), superseded, null);
                }

                Dispatch(session, bytes.Value);
            }
        }
        catch (FrameTooLargeException ex)
        {
            await CloseQuietlyAsync(session.Socket, WebSocketCloseStatus.MessageTooBig, "frame too large").ConfigureAwait(false);
            return new DropInfo(ex.Message, false, ex);
        }
        catch (OperationCanceledException ex) when (token.IsCancellationRequested)
        {
            return new DropInfo("closed", false, ex);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
        {
            return new DropInfo($"the connection failed: {ex.Message}", false, ex);
        }
    }

    private void Dispatch(Session session, ReadOnlyMemory<byte> bytes)
    {
        Frame frame;
        try
        {
            frame = FrameCodec.Decode(bytes);
        }
        catch (FrameFormatException ex)
        {
            Log.BadServerFrame(_logger, ex.Message);
            return;
        }

        switch (frame)
        {
            case MessageFrame message:
                _incoming.Writer.TryWrite(message);
                break;
            case NotificationFrame notification:
                Answer(session, notification);
                break;
            default:
                // Watch/Status frames are not used by this client.
                break;
        }
    }

    private void Answer(Session session, NotificationFrame notification)
    {
        PendingSend? head;
        lock (session.Pending)
        {
            session.Pending.TryDequeue(out head);
        }

        if (head is null)
        {
            Log.UnmatchedNotification(_logger, notification.Id, notification.Type.ToString());
            return;
        }

        if (head.Id != notification.Id)
        {
            Log.NotificationIdMismatch(_logger, notification.Id, head.Id);
        }

        if (notification.Type == MsgType.Ack)
        {
            head.Completion.TrySetResult();
        }
        else
        {
            head.Completion.TrySetException(new MessageRefusedException(
                notification.ErrorType, string.IsNullOrEmpty(notification.Error) ? "no reason given" : notification.Error));
        }
    }

    private async Task<ReadOnlyMemory<byte>?> ReceiveFrameAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var writer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var result = await socket.ReceiveAsync(writer.GetMemory(8192), cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            writer.Advance(result.Count);
            if (writer.WrittenCount > _options.MaxFrameBytes)
            {
                throw new FrameTooLargeException($"the server sent a frame larger than {_options.MaxFrameBytes} bytes");
            }

            if (result.EndOfMessage)
            {
                return writer.WrittenMemory;
            }
        }
    }

    private async Task DispatchLoopAsync()
    {
        var token = _lifetimeToken;
        try
        {
            await foreach (var frame in _incoming.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                try
                {
                    await _handler(frame, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    Log.HandlerFailed(_logger, ex, frame.Id, frame.Offset);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Disposed.
        }
    }

    // ---- Reconnecting ----------------------------------------------------------------------------------------

    private async Task SuperviseAsync(Session session)
    {
        var token = _lifetimeToken;
        while (true)
        {
            var drop = await session.ReceiveTask!.ConfigureAwait(false);
            lock (_gate)
            {
                if (_session == session)
                {
                    _session = null;
                }

                if (_ready.Task.IsCompleted && !_disposed)
                {
                    _ready = NewReady();
                }
            }

            FailPending(session, new ConnectionLostException(
                $"the connection dropped before the server answered ({drop.Reason}); the message may or may not have been stored", drop.Exception));
            session.Dispose();
            if (_disposed)
            {
                return;
            }

            if (drop.Superseded)
            {
                Log.Superseded(_logger, _address);
                Stop(ConnectionState.Superseded, new ConnectionLostException(
                    $"another connection of {_address} superseded this one; it will not reconnect"));
                RaiseDisconnected(new MessagingDisconnectedEventArgs(drop.Reason, willReconnect: false, superseded: true, drop.Exception));
                return;
            }

            SetState(ConnectionState.Reconnecting);
            RaiseDisconnected(new MessagingDisconnectedEventArgs(drop.Reason, willReconnect: true, superseded: false, drop.Exception));
            var reason = drop.Reason;
            for (var attempt = 0; ; attempt++)
            {
                var delay = Backoff.Delay(attempt, _options.ReconnectBaseDelay, _options.ReconnectMaxDelay);
                Log.Reconnecting(_logger, _address, reason, attempt + 1, delay);
                try
                {
                    await Task.Delay(delay, _options.TimeProvider, token).ConfigureAwait(false);
                    session = await ConnectOnceAsync(token).ConfigureAwait(false);
                    break;
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested || _disposed)
                {
                    return;
                }
                catch (AuthenticationFailedException ex)
                {
                    Log.AuthenticationRefused(_logger, _address, ex.Reason);
                    Stop(ConnectionState.Failed, ex);
                    RaiseDisconnected(new MessagingDisconnectedEventArgs(ex.Message, willReconnect: false, superseded: false, ex));
                    return;
                }
                catch (Exception ex) when (IsConnectFailure(ex, token))
                {
                    reason = ex.Message;
                    SetState(ConnectionState.Reconnecting);
                }
            }
        }
    }

    private async Task<Session> WaitForSessionAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Task<Session> ready;
        lock (_gate)
        {
            if (_state == ConnectionState.Created)
            {
                throw new InvalidOperationException("Call ConnectAsync before sending.");
            }

            ready = _ready.Task;
        }

        try
        {
            return await ready.WaitAsync(_options.ConnectWaitTimeout, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new ServerUnreachableException(
                $"the messaging connection of {_address} did not come back within {_options.ConnectWaitTimeout}", ex);
        }
    }

    private void Stop(ConnectionState state, Exception reason)
    {
        lock (_gate)
        {
            if (_state == ConnectionState.Closed)
            {
                return;
            }

            _state = state;
            _stopReason = reason;
            if (_ready.Task.IsCompleted)
            {
                _ready = NewReady();
            }

            _ready.TrySetException(reason);
            _ready.Task.Exception?.Handle(_ => true);
        }

        Log.Stopped(_logger, _address, reason.Message);
    }

    private void SetState(ConnectionState state)
    {
        lock (_gate)
        {
            if (_state is not (ConnectionState.Closed or ConnectionState.Superseded or ConnectionState.Failed))
            {
                _state = state;
            }
        }
    }

    private void RaiseDisconnected(MessagingDisconnectedEventArgs args) => Disconnected?.Invoke(this, args);

    /// <summary>Why the connection stopped for good, when it did (superseded or refused).</summary>
    public Exception? StopReason
    {
        get
        {
            lock (_gate)
            {
                return _stopReason;
            }
        }
    }

    // ---- Closing ---------------------------------------------------------------------------------------------

    private async Task CloseOnPurposeAsync(Session session)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), _options.TimeProvider);
        try
        {
            await session.SendLock.WaitAsync(timeout.Token).ConfigureAwait(false);
            try
            {
                await session.Socket.CloseOutputAsync((WebSocketCloseStatus)ClosedOnPurposeCode, "closed on purpose", timeout.Token).ConfigureAwait(false);
            }
            finally
            {
                session.SendLock.Release();
            }

            // Let the receive loop see the server's close so the handshake finishes cleanly.
            if (session.ReceiveTask is { } receive)
            {
                await receive.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException or TimeoutException)
        {
            // Closing is best effort; the socket is aborted next.
        }
    }

    private static async Task AcknowledgeCloseAsync(ClientWebSocket socket)
    {
        if (socket.State == WebSocketState.CloseReceived)
        {
            await CloseQuietlyAsync(socket, WebSocketCloseStatus.NormalClosure, string.Empty).ConfigureAwait(false);
        }
    }

    private static async Task CloseQuietlyAsync(ClientWebSocket socket, WebSocketCloseStatus status, string description)
    {
        try
        {
            await socket.CloseOutputAsync(status, description, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or IOException or InvalidOperationException)
        {
            // The peer is gone already.
        }
    }

    private static void FailPending(Session session, Exception exception)
    {
        lock (session.Pending)
        {
            session.Closed = true;
            while (session.Pending.TryDequeue(out var pending))
            {
                pending.Completion.TrySetException(exception);
            }
        }
    }

    private static TaskCompletionSource<Session> NewReady() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed record PendingSend(string Id, TaskCompletionSource Completion);

    private readonly record struct DropInfo(string Reason, bool Superseded, Exception? Exception);

    private sealed class FrameTooLargeException(string message) : Exception(message);

    private sealed class Session(ClientWebSocket socket) : IDisposable
    {
        public ClientWebSocket Socket { get; } = socket;

        public SemaphoreSlim SendLock { get; } = new(1, 1);

        public Queue<PendingSend> Pending { get; } = new();

        public bool Closed { get; set; }

        public Task<DropInfo>? ReceiveTask { get; set; }

        public void Dispose()
        {
            Socket.Dispose();
        }
    }
}
