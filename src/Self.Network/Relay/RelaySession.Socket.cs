using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Self.Network.Http;
using Self.Network.Policy;
using Self.Network.Storage;
using Self.Protocol.Frames;
using Self.Protocol.Identifiers;

namespace Self.Network.Relay;

// The websocket plumbing of a RelaySession: one sender at a time, the close handshake, chunked receive with the size cap.
internal sealed partial class RelaySession
{
    // ---- socket ----

    /// <summary>Sends one binary frame; false when the connection is closing and nothing more may be sent.</summary>
    private async Task<bool> SendAsync(byte[] frame, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_closeSent)
            {
                return false;
            }

            await _socket.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken).ConfigureAwait(false);
            _relay.Metrics.FrameSent();
            return true;
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task SendCloseAsync(WebSocketCloseStatus status, string reason)
    {
        await _sendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_closeSent)
            {
                return;
            }

            _closeSent = true;
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(CloseGrace, _relay.Options.TimeProvider);
                await _socket.CloseOutputAsync(status, reason, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            _socket.Abort();
        }
        finally
        {
            _sendLock.Release();
            _inboxGrew.Writer.TryWrite(true);
        }
    }

    /// <summary>After our close frame: reads (and discards) until the peer's close arrives, for a short while.</summary>
    private async Task DrainAsync()
    {
        using var timeout = new CancellationTokenSource(CloseGrace, _relay.Options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, timeout.Token);
        try
        {
            while (_socket.State == WebSocketState.CloseSent)
            {
                var result = await _socket.ReceiveAsync(Memory<byte>.Empty, linked.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            _socket.Abort();
        }
    }

    private async Task AbortLaterAsync()
    {
        try
        {
            await Task.Delay(CloseGrace, _relay.Options.TimeProvider, _stop.Token).ConfigureAwait(false);
            _socket.Abort();
        }
        catch (OperationCanceledException)
        {
            // The session ended on its own.
        }
        catch (ObjectDisposedException)
        {
            // Likewise.
        }
    }

    /// <summary>Reads one whole message, refusing to buffer more than the frame limit.</summary>
    private async Task<Received> ReceiveAsync(CancellationToken cancellationToken)
    {
        var limit = _relay.Options.MaxFrameBytes;

        // An idle connection waits with a zero-byte read and holds no buffer of its own: a buffer is rented only while
        // a frame arrives (a per-session 16 KB buffer was a third of an idle connection's memory).
        var first = await _socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        if (first.MessageType == WebSocketMessageType.Close)
        {
            return new Received(ReceivedKind.Close, [], 0, (int?)_socket.CloseStatus ?? 1005);
        }

        if (first.EndOfMessage)
        {
            // A message with no payload at all: nothing more to read for it.
            return new Received(ReceivedKind.Frame, [], 0, 0);
        }

        var rented = ArrayPool<byte>.Shared.Rent(ReceiveChunk);
        var buffer = rented;
        var count = 0;
        try
        {
            while (true)
            {
                // Room for one byte over the limit: that byte is how an oversized frame shows itself.
                var capacity = Math.Min(buffer.Length, limit + 1);
                if (count == capacity)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, limit + 1));
                    buffer.AsSpan(0, count).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(rented);
                    rented = larger;
                    buffer = larger;
                    capacity = Math.Min(buffer.Length, limit + 1);
                }

                var result = await _socket.ReceiveAsync(buffer.AsMemory(count, capacity - count), cancellationToken).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return new Received(ReceivedKind.Close, [], 0, (int?)_socket.CloseStatus ?? 1005);
                }

                count += result.Count;
                if (count > limit)
                {
                    return new Received(ReceivedKind.TooLarge, [], count, 0);
                }

                if (result.EndOfMessage)
                {
                    return new Received(ReceivedKind.Frame, buffer.AsSpan(0, count).ToArray(), count, 0);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static async Task Quietly(Task? task)
    {
        if (task is null)
        {
            return;
        }

        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException or ChannelClosedException)
        {
            // The connection is over; the reason was logged already.
        }
    }

    private enum ReceivedKind
    {
        Frame,
        Close,
        TooLarge,
    }

    private readonly record struct Received(ReceivedKind Kind, byte[] Bytes, long Size, int CloseStatus);
}
