using System.Net.WebSockets;
using Self.Network.Diagnostics;
using Self.Network.Http;
using Self.Network.Policy;
using Self.Network.Storage;
using Self.Protocol.Frames;

namespace Self.Network.Relay;

// The reply loop (one Notification per client frame, in order) and the delivery loop (the inbox, oldest first) of a RelaySession.
internal sealed partial class RelaySession
{
    // ---- replies, in order ----

    private async Task ReplyLoopAsync()
    {
        await foreach (var reply in _replies.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            var notification = reply.Immediate;
            if (reply.Append is not null)
            {
                try
                {
                    await reply.Append.ConfigureAwait(false);
                    notification = NotificationFrame.Ack(reply.Id);
                }
                catch (Exception ex)
                {
                    Log.StoreFailed(_relay.Logger, LogName, ex);
                    _relay.Metrics.Refused("store_failed");
                    reply.Activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, "store_failed");
                    notification = NotificationFrame.Err(reply.Id, ErrType.ErrInternal, "the message could not be stored; send it again");
                }
            }

            try
            {
                await SendAsync(FrameCodec.Encode(notification!), _stop.Token).ConfigureAwait(false);
            }
            finally
            {
                if (reply.Started != 0)
                {
                    _relay.Metrics.Acknowledged(reply.Started, notification!.Type == MsgType.Ack);
                }

                reply.Activity?.Dispose();
            }
        }
    }

    // ---- delivery ----

    private async Task DeliveryLoopAsync(long clientOffset)
    {
        try
        {
            await DeliverAsync(clientOffset).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stop.IsCancellationRequested)
        {
            // Without delivery the connection is useless: close it so that the client reconnects and resumes.
            Log.ConnectionFailed(_relay.Logger, LogName, ex);
            await CloseAsync(WebSocketCloseStatus.InternalServerError, "internal error").ConfigureAwait(false);
        }
    }

    private async Task DeliverAsync(long clientOffset)
    {
        var token = _stop.Token;
        var last = clientOffset;
        if (last > 0)
        {
            // The client has processed everything up to its offset: those messages need not be kept.
            var removing = System.Diagnostics.Stopwatch.GetTimestamp();
            await _relay.Inboxes.RemoveThroughAsync(Address, last, token).ConfigureAwait(false);
            _relay.Metrics.StoreCall("remove", removing);
        }

        _relay.Hub.Delivering(this);

        // The messages sent before the first short batch were waiting when the device connected: its backlog.
        long? backlog = 0;
        while (!_closeSent)
        {
            var reading = System.Diagnostics.Stopwatch.GetTimestamp();
            var batch = await _relay.Inboxes.ReadAsync(Address, last, DeliveryBatch, token).ConfigureAwait(false);
            _relay.Metrics.StoreCall("read", reading);
            if (backlog is { } waiting)
            {
                backlog = waiting + batch.Count;
                if (batch.Count < DeliveryBatch)
                {
                    _relay.Metrics.InboxBacklog(backlog.Value);
                    backlog = null;
                }
            }

            foreach (var stored in batch)
            {
                // Stored frames were checked on the way in; only metadata.timestamp/offset change on the way out.
                byte[] stamped;
                try
                {
                    stamped = FrameCodec.WithMetadata(stored.Frame.Span, stored.Timestamp, stored.Offset);
                }
                catch (FrameFormatException ex)
                {
                    // A damaged entry must not block the inbox behind it forever.
                    Log.UndeliverableSkipped(_relay.Logger, Address, stored.Offset, ex.Message);
                    last = stored.Offset;
                    continue;
                }

                if (!await SendAsync(stamped, token).ConfigureAwait(false))
                {
                    return;
                }

                _relay.Metrics.MessageDelivered();
                Interlocked.Increment(ref _deliveredMessages);
                Interlocked.Add(ref _deliveredBytes, stored.Frame.Length);
                last = stored.Offset;
            }

            if (batch.Count < DeliveryBatch)
            {
                await _inboxGrew.Reader.ReadAsync(token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One answer owed to the client: an append to wait for (then ACK), or a ready refusal.</summary>
    /// <remarks><c>Started</c> is the <see cref="System.Diagnostics.Stopwatch"/> timestamp of the frame's arrival (0 for
    /// frames that are not messages); <c>Activity</c> is the frame's span, ended when the answer is sent.</remarks>
    private sealed record PendingReply(string Id, Task<long>? Append, NotificationFrame? Immediate, long Started = 0, System.Diagnostics.Activity? Activity = null);
}
