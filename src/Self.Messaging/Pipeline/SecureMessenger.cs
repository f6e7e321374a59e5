using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Self.Crypto.Envelope;
using Self.Crypto.Keys;
using Self.Crypto.Olm;
using Self.Protocol;
using Self.Protocol.Frames;
using Self.Protocol.Identifiers;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;
using Self.Protocol.Messages;

namespace Self.Messaging;

/// <summary>
/// The encrypt/decrypt pipeline of one endpoint (spec §8). Sending fans a signed message out to every active device
/// of the recipient: one envelope holding an Olm entry per device, one <see cref="MessageFrame"/> per device with the
/// same id. Receiving opens this device's entry (creating an inbound session from a pre-key message), verifies the
/// signature against the sender's history (kid valid at <c>iat</c>, a device key of the sending device, issuer = the
/// sending identity), skips duplicates (offset, <c>jti</c>), persists sessions, account and offset in one commit, and
/// then hands a <see cref="ReceivedMessage"/> to the subscribers. Anything that fails a check is logged and dropped.
/// Thread-safe.
/// </summary>
internal sealed class SecureMessenger
{
    /// <summary>How many sessions per peer address are kept (the newest is used to encrypt).</summary>
    public const int MaxSessionsPerAddress = 5;

    /// <summary>At most this many received messages are held while nobody subscribes; older ones are dropped.</summary>
    public const int MaxUndelivered = 10_000;

    /// <summary>How long a recipient's device list is reused before it is fetched again (unless a send fails first).</summary>
    public static readonly TimeSpan DefaultDeviceListMaxAge = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan JtiRetention = TimeSpan.FromDays(30);

    private readonly Address _self;
    private readonly string _selfText;
    private readonly ClientStore _store;
    private readonly SelfRestClient _rest;
    private readonly IdentityDirectory _directory;
    private readonly MessagingConnection _connection;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _deviceListMaxAge;

    // Device lists per recipient: one GET /devices (a signed token, a verification and a lookup on the server) per
    // message was the largest cost of a request after the cryptography. Dropped whenever a send to that recipient fails.
    private readonly ConcurrentDictionary<string, (IReadOnlyList<string> Devices, DateTimeOffset Until)> _deviceLists = new(StringComparer.Ordinal);

    // Guards the account, the sessions and every store write that exports them, so that a later export is never
    // overwritten by an earlier one.
    private readonly SemaphoreSlim _olmLock = new(1, 1);
    private readonly Dictionary<string, List<SessionEntry>> _sessions = new(StringComparer.Ordinal);
    private OlmAccount? _account;
    private long _processedOffset;
    private long _lastStamp;

    private readonly Lock _subscriberGate = new();
    private readonly SemaphoreSlim _deliveryLock = new(1, 1);
    private readonly Queue<ReceivedMessage> _undelivered = new();
    private ImmutableArray<Func<ReceivedMessage, CancellationToken, ValueTask>> _subscribers = [];

    /// <summary>Creates the pipeline; call <see cref="InitializeAsync"/> before the connection connects.</summary>
    public SecureMessenger(
        Address self, ClientStore store, SelfRestClient rest, IdentityDirectory directory, MessagingConnection connection,
        TimeProvider? timeProvider = null, ILogger? logger = null, TimeSpan? deviceListMaxAge = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(rest);
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(connection);
        _self = self;
        _selfText = self.ToString();
        _store = store;
        _rest = rest;
        _directory = directory;
        _connection = connection;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _deviceListMaxAge = deviceListMaxAge ?? DefaultDeviceListMaxAge;
    }

    /// <summary>This endpoint's address.</summary>
    public Address Address => _self;

    /// <summary>The highest inbox offset processed and committed.</summary>
    public long ProcessedOffset => Interlocked.Read(ref _processedOffset);

    /// <summary>How many one-time keys the account still holds unused.</summary>
    public int UnusedOneTimeKeyCount => Account.UnusedOneTimeKeyCount;

    /// <summary>This device's Olm identity keys.</summary>
    public OlmIdentityKeys IdentityKeys => Account.IdentityKeys;

    private OlmAccount Account => _account ?? throw new InvalidOperationException("Call InitializeAsync first.");

    /// <summary>
    /// Loads the Olm account from the store, or creates it from the device key with 100 one-time keys on the first
    /// start (or when the device key changed); publishes one-time keys that are not published yet; loads the
    /// processed offset and hands it to the connection.
    /// </summary>
    public async Task InitializeAsync(SigningKey deviceKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deviceKey);
        await _olmLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var exported = await _store.LoadAccountAsync(cancellationToken).ConfigureAwait(false);
            OlmAccount? account = null;
            if (exported is not null)
            {
                account = OlmAccount.Import(exported);
                CryptographicOperations.ZeroMemory(exported);
                if (!account.Ed25519PublicKey.SequenceEqual(deviceKey.PublicKey))
                {
                    // The device key was rotated: the account follows it (existing sessions keep working).
                    account = null;
                }
            }

            if (account is null)
            {
                var seed = deviceKey.Seed;
                try
                {
                    account = OlmAccount.FromSeed(seed);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(seed);
                }

                account.GenerateOneTimeKeys(OlmAccount.OneTimeKeyBatchSize);
                await SaveAccountLockedAsync(account, cancellationToken).ConfigureAwait(false);
            }

            _account = account;
            var offset = await _store.GetProcessedOffsetAsync(cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref _processedOffset, offset);
            _connection.AdvanceProcessedOffset(offset);
            await PublishUnpublishedLockedAsync(throwOnFailure: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _olmLock.Release();
        }

        await _store.PruneExpiredAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Registers a handler for received messages; they arrive one at a time, in inbox order. Messages received while
    /// nobody subscribed are handed to the first subscriber. Dispose the result to unsubscribe.
    /// </summary>
    public IDisposable Subscribe(Func<ReceivedMessage, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        bool flush;
        lock (_subscriberGate)
        {
            _subscribers = _subscribers.Add(handler);
            flush = _undelivered.Count > 0;
        }

        if (flush)
        {
            _ = Task.Run(() => DeliverAsync(null, CancellationToken.None));
        }

        return new Subscription(this, handler);
    }

    // ---- Sending --------------------------------------------------------------------------------------------

    /// <summary>
    /// Encrypts <paramref name="message"/> to every active device of <paramref name="recipientId"/> and sends one frame
    /// per device; completes when the server has stored it for at least one device. A recipient who has not connected
    /// to this identity gives <see cref="MessageRefusedException"/> with <see cref="MessageRefusedException.IsNotConnected"/>
    /// (from the REST 403 or the server's ERR); an unknown recipient a <see cref="SelfApiException"/> with 404.
    /// <paramref name="messageType"/> goes into the frame's <c>message_type</c>; by default the message's <c>typ</c>.
    /// </summary>
    public async Task SendAsync(
        string recipientId, FlattenedJws message, MsgSubType subtype = MsgSubType.Unknown, uint priority = 0, string? messageType = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(recipientId);
        ArgumentNullException.ThrowIfNull(message);
        _ = Account;

        try
        {
            await SendToDevicesAsync(recipientId, message, subtype, priority, messageType, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Whatever went wrong (a device revoked, the user disconnected), the next send asks the network again.
            _deviceLists.TryRemove(recipientId, out _);
            throw;
        }
    }

    /// <summary>Forgets the cached device list of <paramref name="recipientId"/>, so the next send fetches it again.</summary>
    public void ForgetDevices(string recipientId) => _deviceLists.TryRemove(recipientId, out _);

    private async Task<IReadOnlyList<string>> DevicesAsync(string recipientId, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_deviceListMaxAge > TimeSpan.Zero && _deviceLists.TryGetValue(recipientId, out var cached) && cached.Until > now)
        {
            return cached.Devices;
        }

        IReadOnlyList<string> devices;
        try
        {
            devices = await _rest.GetDevicesAsync(recipientId, cancellationToken).ConfigureAwait(false);
        }
        catch (SelfApiException ex) when (ex.StatusCode == HttpStatusCode.Forbidden)
        {
            throw NotConnected(recipientId, ex);
        }

        if (_deviceListMaxAge > TimeSpan.Zero)
        {
            _deviceLists[recipientId] = (devices, now + _deviceListMaxAge);
        }

        return devices;
    }

    private async Task SendToDevicesAsync(
        string recipientId, FlattenedJws message, MsgSubType subtype, uint priority, string? messageType, CancellationToken cancellationToken)
    {
        var devices = await DevicesAsync(recipientId, cancellationToken).ConfigureAwait(false);

        var targets = devices
            .Where(d => SelfIds.IsDeviceId(d) && !(recipientId == _self.Id && d == _self.Device))
            .Distinct(StringComparer.Ordinal)
            .Select(d => new Address(recipientId, d))
            .ToList();
        if (targets.Count == 0)
        {
            throw new MessageRefusedException(ErrType.ErrMessage, $"recipient {recipientId} has no active device");
        }

        // Devices without a session need the identity key from the history and a one-time key: REST calls, made
        // before taking the lock.
        var missing = await AddressesWithoutSessionAsync(targets, cancellationToken).ConfigureAwait(false);
        var material = new Dictionary<Address, (string IdentityKey, string OneTimeKey)>();
        var failures = new List<Exception>();
        foreach (var address in missing)
        {
            try
            {
                material[address] = await PrepareOutboundAsync(address, cancellationToken).ConfigureAwait(false);
            }
            catch (SelfApiException ex) when (ex.StatusCode == HttpStatusCode.Forbidden)
            {
                throw NotConnected(recipientId, ex);
            }
            catch (Exception ex) when (ex is SelfApiException or HistoryValidationException or OlmException or DeviceUnreachableException)
            {
                Log.DeviceSkipped(_logger, address.ToString(), ex.Message);
                failures.Add(ex);
            }
        }

        var sentTo = new List<Address>();
        byte[] envelope;
        await _olmLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var recipients = new List<EnvelopeRecipient>();
            var used = new List<(string Address, SessionEntry Entry)>();
            var batch = _store.CreateBatch();
            foreach (var address in targets)
            {
                var key = address.ToString();
                var list = await SessionsLockedAsync(key, cancellationToken).ConfigureAwait(false);
                SessionEntry entry;
                if (list.Count > 0)
                {
                    entry = list[0];
                }
                else if (material.TryGetValue(address, out var keys))
                {
                    entry = new SessionEntry(OlmSession.CreateOutbound(Account, keys.IdentityKey, keys.OneTimeKey));
                    list.Insert(0, entry);
                    PruneLocked(key, list, batch);
                    Log.OutboundSessionCreated(_logger, key);
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

            envelope = GroupEnvelope.Seal(message.ToUtf8Bytes(), recipients);
            foreach (var (address, entry) in used)
            {
                SaveSessionLocked(batch, address, entry);
            }

            // The sessions moved on: persist them before anything leaves, whatever the caller's token says.
            await _store.CommitAsync(batch, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _olmLock.Release();
        }

        var frameId = Guid.NewGuid().ToString();
        // message_type carries the typ (spec §6) unless the caller says otherwise.
        messageType ??= SignedMessage.PeekType(message);
        var typeBytes = messageType is null ? ReadOnlyMemory<byte>.Empty : Encoding.UTF8.GetBytes(messageType);
        var sends = sentTo
            .Select(address => (Address: address, Task: _connection.SendAsync(
                new MessageFrame(frameId, subtype, _selfText, address.ToString(), 0, 0, envelope, priority, typeBytes),
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
                Log.DeviceRefused(_logger, frameId, address.ToString(), ex.Message);
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

    private async Task<List<Address>> AddressesWithoutSessionAsync(List<Address> targets, CancellationToken cancellationToken)
    {
        var missing = new List<Address>();
        await _olmLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var address in targets)
            {
                if ((await SessionsLockedAsync(address.ToString(), cancellationToken).ConfigureAwait(false)).Count == 0)
                {
                    missing.Add(address);
                }
            }
        }
        finally
        {
            _olmLock.Release();
        }

        return missing;
    }

    private async Task<(string IdentityKey, string OneTimeKey)> PrepareOutboundAsync(Address address, CancellationToken cancellationToken)
    {
        var deviceKey = await _directory.CurrentDeviceKeyAsync(address.Id, address.Device, cancellationToken).ConfigureAwait(false)
            ?? throw new DeviceUnreachableException($"the key history of {address.Id} holds no current key for device {address.Device}");
        var identityKey = Curve25519Conversion.IdentityKeyFromEd25519(deviceKey.PublicKey);
        var preKey = await _rest.PopPreKeyAsync(address.Id, address.Device, cancellationToken).ConfigureAwait(false);
        return (identityKey, preKey.Key);
    }

    private MessageRefusedException NotConnected(string recipientId, SelfApiException cause) =>
        new(ErrType.ErrMessage, $"recipient {recipientId} has not connected to {_self.Id}", cause);

    // ---- Receiving ------------------------------------------------------------------------------------------

    /// <summary>
    /// Processes one incoming frame (the <see cref="MessagingConnection"/> handler): decrypt, verify, dedupe, commit,
    /// then deliver. Frames at or below the processed offset are skipped.
    /// </summary>
    public async ValueTask HandleFrameAsync(MessageFrame frame, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(frame);
        _ = Account;
        if (frame.Offset <= ProcessedOffset)
        {
            Log.DuplicateSkipped(_logger, frame.Id, frame.Offset, "offset already processed");
            return;
        }

        ReceivedMessage? received;
        bool replenish;
        await _olmLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var batch = _store.CreateBatch();
            received = await OpenLockedAsync(frame, batch, cancellationToken).ConfigureAwait(false);
            batch.SetProcessedOffset(frame.Offset);
            // One commit per processed message: sessions, account, seen jti and offset together.
            await _store.CommitAsync(batch, CancellationToken.None).ConfigureAwait(false);
            Interlocked.Exchange(ref _processedOffset, frame.Offset);
            _connection.AdvanceProcessedOffset(frame.Offset);
            replenish = Account.NeedsReplenishment || Account.UnpublishedOneTimeKeyCount > 0;
        }
        finally
        {
            _olmLock.Release();
        }

        if (received is not null)
        {
            await DeliverAsync(received, cancellationToken).ConfigureAwait(false);
        }

        if (replenish)
        {
            await ReplenishAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<ReceivedMessage?> OpenLockedAsync(MessageFrame frame, ClientStoreBatch batch, CancellationToken cancellationToken)
    {
        void Drop(string reason) => Log.MessageDropped(_logger, frame.Id, frame.Sender, frame.Offset, reason);

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

        byte[] body;
        try
        {
            body = envelope.OpenBody(keyAndNonce);
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

        FlattenedJws jws;
        MessageClaims claims;
        try
        {
            jws = FlattenedJws.Parse(body);
            claims = SignedMessage.ReadClaims<MessageClaims>(jws);
        }
        catch (Exception ex) when (ex is JwsFormatException or MessageFormatException)
        {
            Drop($"the message is not a signed message ({ex.Message})");
            return null;
        }

        if (claims.Iss != sender.Id)
        {
            Drop($"its issuer {claims.Iss} is not the sending identity {sender.Id}");
            return null;
        }

        HistoryKey? key;
        try
        {
            key = await _directory.ResolveKeyAsync(sender.Id, jws.Header.Kid, claims.Iat.ToUnixTimeSeconds(), cancellationToken).ConfigureAwait(false);
        }
        catch (SelfException ex)
        {
            Drop($"the sender's key history is unavailable: {ex.Message}");
            return null;
        }

        if (key is null)
        {
            Drop($"key {jws.Header.Kid} of {sender.Id} was not valid at {claims.Iat:O}");
            return null;
        }

        if (key.Role != KeyRole.Device || key.DeviceId != sender.Device)
        {
            Drop($"key {jws.Header.Kid} is not a device key of {sender}");
            return null;
        }

        if (!jws.Verify(key.PublicKey))
        {
            Drop("the signature does not verify");
            return null;
        }

        if (await _store.HasSeenJtiAsync(claims.Jti, cancellationToken).ConfigureAwait(false))
        {
            Log.DuplicateSkipped(_logger, frame.Id, frame.Offset, "jti already processed");
            return null;
        }

        var now = _time.GetUtcNow();
        var keepUntil = claims.Exp > now ? claims.Exp + TimeSpan.FromDays(1) : now + JtiRetention;
        batch.AddSeenJti(claims.Jti, keepUntil > now + JtiRetention ? now + JtiRetention : keepUntil);
        return new ReceivedMessage(sender, jws, claims.Typ, frame.Offset);
    }

    private async Task<byte[]> DecryptEntryLockedAsync(Address sender, OlmMessage entry, ClientStoreBatch batch, CancellationToken cancellationToken)
    {
        var key = sender.ToString();
        var list = await SessionsLockedAsync(key, cancellationToken).ConfigureAwait(false);
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
                session = OlmSession.CreateInbound(Account, entry.Body, identityKey);
            }
            catch (OlmException ex) when (ex.ErrorCode == Crypto.CryptoErrorCodes.IdentityKeyMismatch)
            {
                // The device may have rotated its key since the history was cached.
                identityKey = await SenderIdentityKeyAsync(sender, refresh: true, cancellationToken).ConfigureAwait(false);
                session = OlmSession.CreateInbound(Account, entry.Body, identityKey);
            }

            var plaintext = session.Decrypt(entry);
            Account.RemoveOneTimeKeys(session);
            var account = Account.Export();
            try
            {
                batch.SaveAccount(account);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(account);
            }

            var created = new SessionEntry(session);
            list.Insert(0, created);
            PruneLocked(key, list, batch);
            SaveSessionLocked(batch, key, created);
            Log.InboundSessionCreated(_logger, key);
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

    private byte[] DecryptWith(string address, List<SessionEntry> list, SessionEntry entry, OlmMessage message, ClientStoreBatch batch)
    {
        var plaintext = entry.Session.Decrypt(message);
        list.Remove(entry);
        list.Insert(0, entry);
        SaveSessionLocked(batch, address, entry);
        return plaintext;
    }

    private async Task<string> SenderIdentityKeyAsync(Address sender, bool refresh, CancellationToken cancellationToken)
    {
        if (refresh)
        {
            await _directory.RefreshAsync(sender.Id, cancellationToken).ConfigureAwait(false);
        }

        var deviceKey = await _directory.CurrentDeviceKeyAsync(sender.Id, sender.Device, cancellationToken).ConfigureAwait(false)
            ?? throw new DeviceUnreachableException($"the key history of {sender.Id} holds no current key for device {sender.Device}");
        return Curve25519Conversion.IdentityKeyFromEd25519(deviceKey.PublicKey);
    }

    // ---- Delivery -------------------------------------------------------------------------------------------

    private async Task DeliverAsync(ReceivedMessage? message, CancellationToken cancellationToken)
    {
        await _deliveryLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            while (true)
            {
                ReceivedMessage next;
                ImmutableArray<Func<ReceivedMessage, CancellationToken, ValueTask>> subscribers;
                lock (_subscriberGate)
                {
                    subscribers = _subscribers;
                    if (subscribers.IsEmpty)
                    {
                        if (message is not null)
                        {
                            _undelivered.Enqueue(message);
                            while (_undelivered.Count > MaxUndelivered)
                            {
                                var dropped = _undelivered.Dequeue();
                                Log.BacklogFull(_logger, dropped.Sender.ToString(), dropped.Offset, MaxUndelivered);
                            }
                        }

                        return;
                    }

                    // Older messages first: what arrived while nobody listened.
                    if (_undelivered.Count > 0)
                    {
                        next = _undelivered.Dequeue();
                    }
                    else if (message is not null)
                    {
                        next = message;
                        message = null;
                    }
                    else
                    {
                        return;
                    }
                }

                foreach (var subscriber in subscribers)
                {
                    try
                    {
                        await subscriber(next, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        throw;
                    }
                    catch (Exception ex)
                    {
                        Log.SubscriberFailed(_logger, ex, next.Offset);
                    }
                }
            }
        }
        finally
        {
            _deliveryLock.Release();
        }
    }

    internal void Unsubscribe(Func<ReceivedMessage, CancellationToken, ValueTask> handler)
    {
        lock (_subscriberGate)
        {
            _subscribers = _subscribers.Remove(handler);
        }
    }

    // ---- One-time keys --------------------------------------------------------------------------------------

    /// <summary>Publishes 100 new one-time keys when fewer than 10 remain (and any not yet published).</summary>
    public async Task ReplenishAsync(CancellationToken cancellationToken = default)
    {
        await _olmLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Account.NeedsReplenishment && Account.UnpublishedOneTimeKeyCount == 0)
            {
                Account.GenerateOneTimeKeys(OlmAccount.OneTimeKeyBatchSize);
                await SaveAccountLockedAsync(Account, CancellationToken.None).ConfigureAwait(false);
            }

            await PublishUnpublishedLockedAsync(throwOnFailure: false, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _olmLock.Release();
        }
    }

    private async Task PublishUnpublishedLockedAsync(bool throwOnFailure, CancellationToken cancellationToken)
    {
        var keys = Account.GetUnpublishedOneTimeKeys();
        if (keys.Count == 0)
        {
            return;
        }

        try
        {
            await _rest.PublishPreKeysAsync(_self.Device, keys.Select(k => new PreKey(k.Id, k.Key)).ToList(), cancellationToken).ConfigureAwait(false);
        }
        catch (SelfException ex) when (!throwOnFailure)
        {
            Log.OneTimeKeyPublishFailed(_logger, ex, _selfText);
            return;
        }

        Account.MarkKeysAsPublished();
        await SaveAccountLockedAsync(Account, CancellationToken.None).ConfigureAwait(false);
        Log.OneTimeKeysPublished(_logger, keys.Count, _selfText);
    }

    // ---- Sessions -------------------------------------------------------------------------------------------

    private async Task<List<SessionEntry>> SessionsLockedAsync(string address, CancellationToken cancellationToken)
    {
        if (_sessions.TryGetValue(address, out var list))
        {
            return list;
        }

        var stored = await _store.LoadSessionsAsync(address, cancellationToken).ConfigureAwait(false);
        list = new List<SessionEntry>(stored.Count);
        foreach (var row in stored)
        {
            list.Add(new SessionEntry(OlmSession.Import(row.State)));
            CryptographicOperations.ZeroMemory(row.State);
            _lastStamp = Math.Max(_lastStamp, row.LastUsed);
        }

        _sessions[address] = list;
        return list;
    }

    private void SaveSessionLocked(ClientStoreBatch batch, string address, SessionEntry entry)
    {
        var exported = entry.Session.Export();
        try
        {
            batch.SaveSession(address, entry.Session.SessionId, exported, NextStamp());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(exported);
        }
    }

    private void PruneLocked(string address, List<SessionEntry> list, ClientStoreBatch batch)
    {
        while (list.Count > MaxSessionsPerAddress)
        {
            var oldest = list[^1];
            list.RemoveAt(list.Count - 1);
            batch.DeleteSession(address, oldest.Session.SessionId);
        }
    }

    // A strictly increasing stamp, so that "most recently used" survives a restart even when the clock stands still.
    private long NextStamp()
    {
        _lastStamp = Math.Max(_time.GetUtcNow().ToUnixTimeMilliseconds(), _lastStamp + 1);
        return _lastStamp;
    }

    private async Task SaveAccountLockedAsync(OlmAccount account, CancellationToken cancellationToken)
    {
        var exported = account.Export();
        try
        {
            await _store.SaveAccountAsync(exported, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(exported);
        }
    }

    private sealed class SessionEntry(OlmSession session)
    {
        public OlmSession Session { get; } = session;
    }

    private sealed class Subscription(SecureMessenger owner, Func<ReceivedMessage, CancellationToken, ValueTask> handler) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Unsubscribe(handler);
            }
        }
    }
}

/// <summary>A device of the recipient cannot be written to (no current key in its history).</summary>
internal sealed class DeviceUnreachableException(string message) : Exception(message);
