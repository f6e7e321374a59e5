using System.Collections.Concurrent;
using System.Net;
using System.Text;
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
/// The pipeline's "sending" job: resolves the recipient's devices, prepares a session for each device that has none,
/// encrypts one envelope for all of them under the Olm lock, waits (without the lock) until the sessions are durable,
/// and only then sends one frame per device.
/// </summary>
internal sealed class MessageSender(
    Address self, OlmSessions olm, SelfRestClient rest, IdentityDirectory directory, MessagingConnection connection,
    TimeProvider time, ILogger logger, TimeSpan deviceListMaxAge)
{
    private readonly string _selfText = self.ToString();

    // Device lists per recipient: one GET /devices (a signed token, a verification and a lookup on the server) per
    // message was the largest cost of a request after the cryptography. Dropped whenever a send to that recipient fails.
    private readonly ConcurrentDictionary<string, (IReadOnlyList<string> Devices, DateTimeOffset Until)> _deviceLists = new(StringComparer.Ordinal);

    public async Task SendAsync(
        string recipientId, FlattenedJws message, MsgSubType subtype, uint priority, ClientStoreBatch? alongWith, ReceiveCommit? answering,
        CancellationToken cancellationToken)
    {
        try
        {
            var targets = await TargetsAsync(recipientId, cancellationToken).ConfigureAwait(false);
            var (material, failures) = await PrepareMissingSessionsAsync(recipientId, targets, cancellationToken).ConfigureAwait(false);
            var sealedMessage = await EncryptAsync(recipientId, message, targets, material, failures, alongWith, answering, cancellationToken).ConfigureAwait(false);

            // The sessions moved on: nothing leaves before they are durable, whatever the caller's token says.
            await sealedMessage.Durable.ConfigureAwait(false);
            await SendFramesAsync(recipientId, message, subtype, priority, sealedMessage, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Whatever went wrong (a device revoked, the user disconnected), the next send asks the network again.
            _deviceLists.TryRemove(recipientId, out _);
            throw;
        }
    }

    public void ForgetDevices(string recipientId) => _deviceLists.TryRemove(recipientId, out _);

    /// <summary>
    /// A message from a device the cached list does not name (an app instance that registered since) means the list is
    /// stale: answers must reach that device too, so the next send fetches the list again.
    /// </summary>
    public void NoteSender(Address sender)
    {
        if (_deviceLists.TryGetValue(sender.Id, out var cached) && !cached.Devices.Contains(sender.Device, StringComparer.Ordinal))
        {
            _deviceLists.TryRemove(sender.Id, out _);
        }
    }

    // Step 1: the recipient's active devices (cached), without this device.
    private async Task<List<Address>> TargetsAsync(string recipientId, CancellationToken cancellationToken)
    {
        var devices = await DevicesAsync(recipientId, cancellationToken).ConfigureAwait(false);
        var targets = devices
            .Where(d => SelfIds.IsDeviceId(d) && !(recipientId == self.Id && d == self.Device))
            .Distinct(StringComparer.Ordinal)
            .Select(d => new Address(recipientId, d))
            .ToList();
        if (targets.Count == 0)
        {
            throw new MessageRefusedException(ErrType.ErrMessage, $"recipient {recipientId} has no active device");
        }

        return targets;
    }

    private async Task<IReadOnlyList<string>> DevicesAsync(string recipientId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (deviceListMaxAge > TimeSpan.Zero && _deviceLists.TryGetValue(recipientId, out var cached) && cached.Until > now)
        {
            return cached.Devices;
        }

        IReadOnlyList<string> devices;
        try
        {
            devices = await rest.GetDevicesAsync(recipientId, cancellationToken).ConfigureAwait(false);
        }
        catch (SelfApiException ex) when (ex.StatusCode == HttpStatusCode.Forbidden)
        {
            throw NotConnected(recipientId, ex);
        }

        if (deviceListMaxAge > TimeSpan.Zero)
        {
            _deviceLists[recipientId] = (devices, now + deviceListMaxAge);
        }

        return devices;
    }

    // Step 2: for devices without a session, the identity key from the history and a one-time key: REST calls, made
    // without the lock. A device that cannot be prepared is skipped (and its failure kept, in case none works).
    private async Task<(Dictionary<Address, (string IdentityKey, string OneTimeKey)> Material, List<Exception> Failures)> PrepareMissingSessionsAsync(
        string recipientId, List<Address> targets, CancellationToken cancellationToken)
    {
        var missing = new List<Address>();
        using (await olm.LockAsync(cancellationToken).ConfigureAwait(false))
        {
            foreach (var address in targets)
            {
                if ((await olm.SessionsLockedAsync(address.ToString(), cancellationToken).ConfigureAwait(false)).Count == 0)
                {
                    missing.Add(address);
                }
            }
        }

        var material = new Dictionary<Address, (string IdentityKey, string OneTimeKey)>();
        var failures = new List<Exception>();
        foreach (var address in missing)
        {
            try
            {
                var deviceKey = await directory.CurrentDeviceKeyAsync(address.Id, address.Device, cancellationToken).ConfigureAwait(false)
                    ?? throw new DeviceUnreachableException($"the key history of {address.Id} holds no current key for device {address.Device}");
                var identityKey = Curve25519Conversion.IdentityKeyFromEd25519(deviceKey.PublicKey);
                var preKey = await rest.PopPreKeyAsync(address.Id, address.Device, cancellationToken).ConfigureAwait(false);
                material[address] = (identityKey, preKey.Key);
            }
            catch (SelfApiException ex) when (ex.StatusCode == HttpStatusCode.Forbidden)
            {
                throw NotConnected(recipientId, ex);
            }
            catch (Exception ex) when (ex is SelfApiException or HistoryValidationException or OlmException or DeviceUnreachableException)
            {
                Log.DeviceSkipped(logger, address.ToString(), ex.Message);
                failures.Add(ex);
            }
        }

        return (material, failures);
    }

    // Step 3, under the Olm lock: one envelope with an entry per device that has (or now gets) a session; the sessions'
    // exports and the caller's changes are queued as one commit before the lock is released.
    private async Task<SealedMessage> EncryptAsync(
        string recipientId, FlattenedJws message, List<Address> targets, Dictionary<Address, (string IdentityKey, string OneTimeKey)> material,
        List<Exception> failures, ClientStoreBatch? alongWith, ReceiveCommit? answering, CancellationToken cancellationToken)
    {
        var plaintext = message.ToUtf8Bytes();
        using (await olm.LockAsync(cancellationToken).ConfigureAwait(false))
        {
            var recipients = new List<EnvelopeRecipient>();
            var used = new List<(string Address, OlmSessionEntry Entry)>();
            var sentTo = new List<Address>();
            var batch = olm.Store.CreateBatch();
            foreach (var address in targets)
            {
                var key = address.ToString();
                var list = await olm.SessionsLockedAsync(key, cancellationToken).ConfigureAwait(false);
                OlmSessionEntry entry;
                if (list.Count > 0)
                {
                    entry = list[0];
                }
                else if (material.TryGetValue(address, out var keys))
                {
                    entry = new OlmSessionEntry(OlmSession.CreateOutbound(olm.Account, keys.IdentityKey, keys.OneTimeKey));
                    olm.AddFirstLocked(key, list, entry, batch);
                    Log.OutboundSessionCreated(logger, key);
                }
                else
                {
                    continue;
                }

                recipients.Add(new EnvelopeRecipient(address, entry.Session));
                used.Add((key, entry));
                sentTo.Add(address);
            }

            if (recipients.Count == 0)
            {
                throw failures.Count == 1
                    ? failures[0]
                    : new MessageRefusedException(ErrType.ErrMessage, $"no device of {recipientId} could be reached", new AggregateException(failures));
            }

            var envelope = GroupEnvelope.Seal(plaintext, recipients);
            foreach (var (address, entry) in used)
            {
                olm.SaveSessionLocked(batch, address, entry);
            }

            if (alongWith is not null)
            {
                batch.Append(alongWith);
            }

            // Queued under the lock, so it lands after every earlier export; awaited without it, so that concurrent
            // sends and receives share one transaction. An answer carries its message's receive when that is not
            // committed yet: both durable in one transaction before the answer leaves.
            return new SealedMessage(envelope, sentTo, olm.Store.CommitWithReceiveAsync(batch, answering));
        }
    }

    // Step 4: one frame per device with the same id; done when at least one device's inbox has it.
    private async Task SendFramesAsync(
        string recipientId, FlattenedJws message, MsgSubType subtype, uint priority, SealedMessage sealedMessage, CancellationToken cancellationToken)
    {
        var frameId = Guid.NewGuid().ToString();
        // message_type carries the typ (spec §6).
        var messageType = SignedMessage.PeekType(message);
        var typeBytes = messageType is null ? ReadOnlyMemory<byte>.Empty : Encoding.UTF8.GetBytes(messageType);
        var sends = sealedMessage.SentTo
            .Select(address => (Address: address, Task: connection.SendAsync(
                new MessageFrame(frameId, subtype, _selfText, address.ToString(), 0, 0, sealedMessage.Envelope, priority, typeBytes),
                cancellationToken)))
            .ToList();

        Exception? firstFailure = null;
        var delivered = 0;
        foreach (var (address, task) in sends)
        {
            try
            {
                await task.ConfigureAwait(false);
                delivered++;
            }
            catch (SelfException ex)
            {
                Log.DeviceRefused(logger, frameId, address.ToString(), ex.Message);
                firstFailure ??= ex;
            }
        }

        if (firstFailure is not null)
        {
            // A device refused (revoked, gone): the list is stale even when another device took the message.
            _deviceLists.TryRemove(recipientId, out _);
            if (delivered == 0)
            {
                throw firstFailure;
            }
        }
    }

    private MessageRefusedException NotConnected(string recipientId, SelfApiException cause) =>
        new(ErrType.ErrMessage, $"recipient {recipientId} has not connected to {self.Id}", cause);

    private sealed record SealedMessage(byte[] Envelope, List<Address> SentTo, Task Durable);
}
