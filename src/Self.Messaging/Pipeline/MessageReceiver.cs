using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Self.Crypto.Envelope;
using Self.Crypto.Keys;
using Self.Crypto.Olm;
using Self.Protocol;
using Self.Protocol.Frames;
using Self.Protocol.Identifiers;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;
using Self.Protocol.Messages;

namespace Self.Messaging;

/// <summary>
/// The pipeline's "receiving" job. Each frame goes through named steps: <see cref="DecryptLockedAsync"/> (under the
/// Olm lock: addressing, the envelope, this device's Olm entry, the body), <see cref="VerifyAsync"/> (without the lock:
/// the signed message, its key in the sender's history, the signature, the <c>jti</c>), then one queued commit of
/// sessions, account, seen <c>jti</c> and offset, with what the owner's prepare step adds for the message. Receiving
/// is pipelined: the next frame is opened while that commit is in flight, so they share an fsync; each frame's completion (processed offset, then delivery) runs in inbox order and
/// only after its own commit is durable. Anything that fails a check is logged and dropped.
/// <para>
/// With <paramref name="commitWithAnswer"/> (a device that answers what it receives), frames are opened one at a time
/// in the completion order instead, and a message's commit is not queued before delivery: it waits in
/// <see cref="ReceivedMessage.Commit"/> for the answer's own commit to carry it (one transaction, one fsync, before the
/// answer leaves), or for the handlers to end. The processed offset still moves only once it is durable.
/// </para>
/// </summary>
internal sealed class MessageReceiver(
    Address self, OlmSessions olm, OneTimeKeys oneTimeKeys, IdentityDirectory directory, MessagingConnection connection,
    TimeProvider time, ILogger logger, Func<ReceivedMessage, CancellationToken, Task> deliver,
    Func<ReceivedMessage, ClientStoreBatch, object?>? prepare = null, bool commitWithAnswer = false)
{
    // At most this many frames wait for their commit.
    private const int MaxReceivesInFlight = 64;

    private static readonly TimeSpan JtiRetention = TimeSpan.FromDays(30);

    private readonly string _selfText = self.ToString();
    private readonly SemaphoreSlim _receiveWindow = new(MaxReceivesInFlight, MaxReceivesInFlight);
    private readonly Lock _receiveGate = new();
    private Task _receiveTail = Task.CompletedTask;
    private long _openedOffset;
    private long _processedOffset;

    // Message ids opened whose commit is not durable yet (the store does not know them yet).
    private readonly ConcurrentDictionary<string, byte> _pendingJtis = new(StringComparer.Ordinal);

    /// <summary>The highest inbox offset processed and committed.</summary>
    public long ProcessedOffset => Interlocked.Read(ref _processedOffset);

    /// <summary>Starts from the stored offset (at initialisation).</summary>
    public void StartAt(long offset)
    {
        Interlocked.Exchange(ref _processedOffset, offset);
        Interlocked.Exchange(ref _openedOffset, offset);
        connection.AdvanceProcessedOffset(offset);
    }

    /// <summary>
    /// Opens one frame and queues its commit; returns before that commit is durable, so call it for one frame at a
    /// time, in inbox order. Frames at or below the highest offset already opened are skipped.
    /// </summary>
    public async ValueTask HandleFrameAsync(MessageFrame frame, CancellationToken cancellationToken)
    {
        if (frame.Offset <= Interlocked.Read(ref _openedOffset))
        {
            Log.DuplicateSkipped(logger, frame.Id, frame.Offset, "offset already processed");
            return;
        }

        await _receiveWindow.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (commitWithAnswer)
        {
            // Opened after the previous frame is done: its receive may still be waiting for its answer's commit, and
            // the offsets must reach the store in order.
            Interlocked.Exchange(ref _openedOffset, Math.Max(Interlocked.Read(ref _openedOffset), frame.Offset));
            lock (_receiveGate)
            {
                _receiveTail = OpenThenCompleteAsync(_receiveTail, frame, cancellationToken);
            }

            return;
        }

        Opened opened;
        try
        {
            opened = await OpenFrameAsync(frame, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _receiveWindow.Release();
            throw;
        }

        lock (_receiveGate)
        {
            _receiveTail = CompleteReceiveAsync(_receiveTail, frame, opened, cancellationToken);
        }
    }

    /// <summary>Completes when every frame handed over so far is committed and delivered (or failed).</summary>
    public Task WhenReceivedAsync()
    {
        lock (_receiveGate)
        {
            return _receiveTail;
        }
    }

    private sealed record Opened(Task Durable, ReceivedMessage? Message, string? Jti, bool Replenish);

    private async Task OpenThenCompleteAsync(Task previous, MessageFrame frame, CancellationToken cancellationToken)
    {
        Opened opened;
        try
        {
            await previous.ConfigureAwait(false);
            opened = await OpenFrameAsync(frame, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // As when the connection's handler fails: logged (unless stopping), and the frame comes again after a restart.
            if (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                Log.HandlerFailed(logger, ex, frame.Id, frame.Offset);
            }

            _receiveWindow.Release();
            return;
        }

        await CompleteReceiveAsync(Task.CompletedTask, frame, opened, cancellationToken).ConfigureAwait(false);
    }

    // The Olm lock is held for the decryption only, unless the Olm account changed (a pre-key message): account exports
    // must land in the order they were made, so that commit is queued under the lock. Session rows are ordered by stamp.
    private async Task<Opened> OpenFrameAsync(MessageFrame frame, CancellationToken cancellationToken)
    {
        var batch = olm.Store.CreateBatch();
        var held = await olm.LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Interlocked.Exchange(ref _openedOffset, Math.Max(Interlocked.Read(ref _openedOffset), frame.Offset));
            var decrypted = await DecryptLockedAsync(frame, batch, cancellationToken).ConfigureAwait(false);
            var replenish = oneTimeKeys.NeedsWorkLocked;
            if (!batch.SavesAccount)
            {
                held.Dispose();
            }

            var (received, jti) = decrypted is null ? (null, null) : await VerifyAsync(frame, decrypted, batch, cancellationToken).ConfigureAwait(false);
            if (received is not null && prepare is not null)
            {
                // The owner's changes for this message join its commit (durable together, before delivery). A failing
                // step must not stop the inbox: the message goes on without a note and the owner does the work itself.
                var operations = batch.Operations.Count;
                try
                {
                    received = received with { Note = prepare(received, batch) };
                }
                catch (Exception ex)
                {
                    batch.Operations.RemoveRange(operations, batch.Operations.Count - operations);
                    Log.PrepareFailed(logger, ex, frame.Offset);
                }
            }

            batch.SetProcessedOffset(frame.Offset);
            if (jti is not null)
            {
                _pendingJtis[jti] = 0;
            }

            if (commitWithAnswer && received is not null && !batch.SavesAccount)
            {
                // Queued by the answer's commit or after the handlers (CompleteReceiveAsync); an account export is
                // not held back, because account exports must land in the order they were made.
                var commit = new ReceiveCommit(olm.Store, batch);
                return new Opened(Task.CompletedTask, received with { Commit = commit }, jti, replenish);
            }

            // Whatever the caller's token says: the sessions moved on in memory.
            var durable = olm.Store.CommitAsync(batch, CancellationToken.None);
            return new Opened(durable, received, jti, replenish);
        }
        finally
        {
            held.Dispose();
        }
    }

    private async Task CompleteReceiveAsync(Task previous, MessageFrame frame, Opened opened, CancellationToken cancellationToken)
    {
        try
        {
            await previous.ConfigureAwait(false);
            var held = opened.Message?.Commit;
            if (held is not null)
            {
                // Delivered first: the answer's commit carries the receive, or it is committed alone once the
                // handlers are done. Acknowledged (the offset) only once durable, as any other.
                await DeliverHeldAsync(opened.Message!, cancellationToken).ConfigureAwait(false);
            }

            try
            {
                await (held?.CommitAsync() ?? opened.Durable).ConfigureAwait(false);
            }
            catch (ObjectDisposedException) when (held is not null && cancellationToken.IsCancellationRequested)
            {
                // Closed before its commit: not acknowledged, so the network hands it again after the restart.
                return;
            }
            catch (Exception ex)
            {
                Log.ReceiveNotPersisted(logger, ex, frame.Id, frame.Offset);
                return;
            }

            if (frame.Offset > Interlocked.Read(ref _processedOffset))
            {
                Interlocked.Exchange(ref _processedOffset, frame.Offset);
            }

            connection.AdvanceProcessedOffset(frame.Offset);
            if (held is null && opened.Message is not null)
            {
                await deliver(opened.Message, cancellationToken).ConfigureAwait(false);
            }

            if (opened.Replenish)
            {
                await oneTimeKeys.ReplenishAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            Log.SubscriberFailed(logger, ex, frame.Offset);
        }
        finally
        {
            if (opened.Jti is not null)
            {
                _pendingJtis.TryRemove(opened.Jti, out _);
            }

            _receiveWindow.Release();
        }
    }

    private async Task DeliverHeldAsync(ReceivedMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await deliver(message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The message was handled as far as the handlers got: its receive is committed all the same.
            Log.SubscriberFailed(logger, ex, message.Offset);
        }
    }

    private sealed record Decrypted(Address Sender, byte[] Body);

    // Under the Olm lock: the checks that need no signature, this device's entry (sessions into the batch) and the body.
    private async Task<Decrypted?> DecryptLockedAsync(MessageFrame frame, ClientStoreBatch batch, CancellationToken cancellationToken)
    {
        void Drop(string reason) => Log.MessageDropped(logger, frame.Id, frame.Sender, frame.Offset, reason);

        if (!Protocol.Identifiers.Address.TryParse(frame.Sender, out var sender))
        {
            Drop("the sender is not an address");
            return null;
        }

        if (frame.Recipient != _selfText)
        {
            Drop($"it is addressed to {frame.Recipient}");
            return null;
        }

        GroupEnvelope envelope;
        OlmMessage entry;
        try
        {
            envelope = GroupEnvelope.Parse(frame.Ciphertext.Span);
            if (!envelope.Recipients.TryGetValue(_selfText, out entry))
            {
                Drop("the envelope holds no entry for this device");
                return null;
            }
        }
        catch (EnvelopeException ex)
        {
            Drop($"the envelope is malformed ({ex.ErrorCode})");
            return null;
        }

        byte[] keyAndNonce;
        try
        {
            keyAndNonce = await DecryptEntryLockedAsync(sender, entry, batch, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OlmException or DeviceUnreachableException or SelfException)
        {
            Drop($"the Olm entry did not decrypt: {ex.Message}");
            return null;
        }

        try
        {
            return new Decrypted(sender, envelope.OpenBody(keyAndNonce));
        }
        catch (EnvelopeException ex)
        {
            Drop($"the body did not decrypt ({ex.ErrorCode})");
            return null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keyAndNonce);
        }
    }

    // Without the Olm lock: the signed message, its signature against the sender's history, and the jti.
    private async Task<(ReceivedMessage? Message, string? Jti)> VerifyAsync(
        MessageFrame frame, Decrypted decrypted, ClientStoreBatch batch, CancellationToken cancellationToken)
    {
        void Drop(string reason) => Log.MessageDropped(logger, frame.Id, frame.Sender, frame.Offset, reason);

        var sender = decrypted.Sender;
        FlattenedJws jws;
        MessageClaims claims;
        try
        {
            jws = FlattenedJws.Parse(decrypted.Body);
            claims = SignedMessage.ReadClaims<MessageClaims>(jws);
        }
        catch (Exception ex) when (ex is JwsFormatException or MessageFormatException)
        {
            Drop($"the message is not a signed message ({ex.Message})");
            return (null, null);
        }

        if (claims.Iss != sender.Id)
        {
            Drop($"its issuer {claims.Iss} is not the sending identity {sender.Id}");
            return (null, null);
        }

        HistoryKey? key;
        try
        {
            key = await directory.ResolveKeyAsync(sender.Id, jws.Header.Kid, claims.Iat.ToUnixTimeSeconds(), cancellationToken).ConfigureAwait(false);
        }
        catch (SelfException ex)
        {
            Drop($"the sender's key history is unavailable: {ex.Message}");
            return (null, null);
        }

        if (key is null)
        {
            Drop($"key {jws.Header.Kid} of {sender.Id} was not valid at {claims.Iat:O}");
            return (null, null);
        }

        if (key.Role != KeyRole.Device || key.DeviceId != sender.Device)
        {
            Drop($"key {jws.Header.Kid} is not a device key of {sender}");
            return (null, null);
        }

        if (!jws.Verify(key.PublicKey))
        {
            Drop("the signature does not verify");
            return (null, null);
        }

        if (_pendingJtis.ContainsKey(claims.Jti) || await olm.Store.HasSeenJtiAsync(claims.Jti, cancellationToken).ConfigureAwait(false))
        {
            Log.DuplicateSkipped(logger, frame.Id, frame.Offset, "jti already processed");
            return (null, null);
        }

        var now = time.GetUtcNow();
        var keepUntil = claims.Exp > now ? claims.Exp + TimeSpan.FromDays(1) : now + JtiRetention;
        batch.AddSeenJti(claims.Jti, keepUntil > now + JtiRetention ? now + JtiRetention : keepUntil);
        return (new ReceivedMessage(sender, jws, claims.Typ, frame.Offset), claims.Jti);
    }

    private async Task<byte[]> DecryptEntryLockedAsync(Address sender, OlmMessage entry, ClientStoreBatch batch, CancellationToken cancellationToken)
    {
        var key = sender.ToString();
        var list = await olm.SessionsLockedAsync(key, cancellationToken).ConfigureAwait(false);
        if (entry.Type == OlmMessageType.PreKey)
        {
            foreach (var existing in list)
            {
                if (existing.Session.MatchesInboundSession(entry.Body))
                {
                    return DecryptWith(key, list, existing, entry, batch);
                }
            }

            // A new session: it must come from the sending device's identity key, as its history states it.
            var identityKey = await SenderIdentityKeyAsync(sender, refresh: false, cancellationToken).ConfigureAwait(false);
            OlmSession session;
            try
            {
                session = OlmSession.CreateInbound(olm.Account, entry.Body, identityKey);
            }
            catch (OlmException ex) when (ex.ErrorCode == Crypto.CryptoErrorCodes.IdentityKeyMismatch)
            {
                // The device may have rotated its key since the history was cached.
                identityKey = await SenderIdentityKeyAsync(sender, refresh: true, cancellationToken).ConfigureAwait(false);
                session = OlmSession.CreateInbound(olm.Account, entry.Body, identityKey);
            }

            var plaintext = session.Decrypt(entry);
            olm.Account.RemoveOneTimeKeys(session);
            olm.SaveAccountLocked(batch);

            var created = new OlmSessionEntry(session);
            olm.AddFirstLocked(key, list, created, batch);
            olm.SaveSessionLocked(batch, key, created);
            Log.InboundSessionCreated(logger, key);
            return plaintext;
        }

        OlmException? last = null;
        foreach (var existing in list)
        {
            try
            {
                return DecryptWith(key, list, existing, entry, batch);
            }
            catch (OlmException ex)
            {
                last = ex;
            }
        }

        throw last ?? new OlmException(Crypto.CryptoErrorCodes.BadMessageMac, $"no session with {key} decrypts the message");
    }

    private byte[] DecryptWith(string address, List<OlmSessionEntry> list, OlmSessionEntry entry, OlmMessage message, ClientStoreBatch batch)
    {
        var plaintext = entry.Session.Decrypt(message);
        OlmSessions.MoveFirst(list, entry);
        olm.SaveSessionLocked(batch, address, entry);
        return plaintext;
    }

    private async Task<string> SenderIdentityKeyAsync(Address sender, bool refresh, CancellationToken cancellationToken)
    {
        if (refresh)
        {
            await directory.RefreshAsync(sender.Id, cancellationToken).ConfigureAwait(false);
        }

        var deviceKey = await directory.CurrentDeviceKeyAsync(sender.Id, sender.Device, cancellationToken).ConfigureAwait(false)
            ?? throw new DeviceUnreachableException($"the key history of {sender.Id} holds no current key for device {sender.Device}");
        return Curve25519Conversion.IdentityKeyFromEd25519(deviceKey.PublicKey);
    }
}
