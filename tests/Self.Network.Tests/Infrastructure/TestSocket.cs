using System.Net.WebSockets;
using Self.Protocol.Frames;

namespace Self.Network.Tests.Infrastructure;

/// <summary>A raw messaging websocket for tests: sends and receives whole frames through <see cref="FrameCodec"/>.</summary>
public sealed class TestSocket : IAsyncDisposable
{
    /// <summary>Only a guard against a hung test: every wait ends as soon as the awaited frame arrives.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly ClientWebSocket _socket;

    private TestSocket(ClientWebSocket socket) => _socket = socket;

    public WebSocketState State => _socket.State;

    public static async Task<TestSocket> ConnectAsync(Uri messagingUri)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(messagingUri, CancellationToken.None);
        return new TestSocket(socket);
    }

    /// <summary>Connects and authenticates as <paramref name="identity"/>'s device, expecting the ACK.</summary>
    public static async Task<TestSocket> LoginAsync(Uri messagingUri, TestIdentity identity, string? deviceId = null, long offset = 0, TimeProvider? time = null)
    {
        var socket = await ConnectAsync(messagingUri);
        var authId = Guid.NewGuid().ToString();
        await socket.SendAsync(new AuthFrame(authId, identity.Token(time, deviceId), deviceId ?? identity.DeviceId, offset));
        var answer = Assert.IsType<NotificationFrame>(await socket.ReceiveAsync());
        Assert.True(answer.Type == MsgType.Ack, $"login refused: {answer.Error}");
        Assert.Equal(authId, answer.Id);
        return socket;
    }

    public Task SendAsync(Frame frame) => SendBytesAsync(FrameCodec.Encode(frame));

    public async Task SendBytesAsync(byte[] bytes)
    {
        using var timeout = new CancellationTokenSource(Patience);
        await _socket.SendAsync(bytes, WebSocketMessageType.Binary, true, timeout.Token);
    }

    /// <summary>The next frame; fails when the server closes instead.</summary>
    public async Task<Frame> ReceiveAsync()
    {
        var (bytes, close) = await ReceiveRawAsync();
        Assert.True(bytes is not null, $"expected a frame, but the server closed ({close})");
        return FrameCodec.Decode(bytes);
    }

    /// <summary>The next Message frame (fails on anything else).</summary>
    public async Task<MessageFrame> ReceiveMessageAsync() => Assert.IsType<MessageFrame>(await ReceiveAsync());

    /// <summary>The next Notification frame (fails on anything else).</summary>
    public async Task<NotificationFrame> ReceiveNotificationAsync() => Assert.IsType<NotificationFrame>(await ReceiveAsync());

    /// <summary>Waits for the server's close frame, skipping nothing: fails if a data frame comes first.</summary>
    public async Task<(WebSocketCloseStatus? Status, string? Description)> ReceiveCloseAsync()
    {
        var (bytes, _) = await ReceiveRawAsync();
        Assert.True(bytes is null, "expected the server to close, but a frame arrived");
        return (_socket.CloseStatus, _socket.CloseStatusDescription);
    }

    public async Task CloseAsync(WebSocketCloseStatus status = (WebSocketCloseStatus)3999, string reason = "done")
    {
        if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            using var timeout = new CancellationTokenSource(Patience);
            await _socket.CloseAsync(status, reason, timeout.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await CloseAsync();
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // Already gone.
        }

        _socket.Dispose();
    }

    private async Task<(byte[]? Bytes, WebSocketCloseStatus? Close)> ReceiveRawAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        var buffer = new byte[64 * 1024];
        using var frame = new MemoryStream();
        while (true)
        {
            var result = await _socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (null, result.CloseStatus);
            }

            frame.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return (frame.ToArray(), null);
            }
        }
    }
}
