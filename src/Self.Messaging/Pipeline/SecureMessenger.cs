using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Self.Protocol.Keys;
using Self.Crypto.Olm;
using Self.Protocol.Frames;
using Self.Protocol.Identifiers;
using Self.Protocol.Jws;

namespace Self.Messaging;

/// <summary>
/// The encrypt/decrypt pipeline of one endpoint (spec §8). Sending fans a signed message out to every active device
/// of the recipient: one envelope holding an Olm entry per device, one <see cref="MessageFrame"/> per device with the
/// same id. Receiving opens this device's entry (creating an inbound session from a pre-key message), verifies the
/// signature against the sender's history (kid valid at <c>iat</c>, a device key of the sending device, issuer = the
/// sending identity), skips duplicates (offset, <c>jti</c>), persists sessions, account and offset in one commit, and
/// then hands a <see cref="ReceivedMessage"/> to the subscribers. Anything that fails a check is logged and dropped.
/// Thread-safe.
/// <para>
/// Its five jobs are separate types: sending (<see cref="MessageSender"/>), receiving (<see cref="MessageReceiver"/>),
/// delivery (here: the subscribers and the backlog), one-time keys (<see cref="OneTimeKeys"/>) and sessions
/// (<see cref="OlmSessions"/>: the account, the sessions, the Olm lock).
/// </para>
/// </summary>
internal sealed class SecureMessenger
{
    /// <summary>How many sessions per peer address are kept (the newest is used to encrypt).</summary>
    public const int MaxSessionsPerAddress = 5;

    /// <summary>At most this many received messages are held while nobody subscribes; older ones are dropped.</summary>
    public const int MaxUndelivered = 10_000;

    /// <summary>How long a recipient's device list is reused before it is fetched again (unless a send fails first).</summary>
    public static readonly TimeSpan DefaultDeviceListMaxAge = TimeSpan.FromSeconds(30);

    private readonly Address _self;
    private readonly ClientStore _store;
    private readonly MessagingConnection _connection;
    private readonly ILogger _logger;
    private readonly OlmSessions _olm;
    private readonly OneTimeKeys _oneTimeKeys;
    private readonly MessageSender _sender;
    private readonly MessageReceiver _receiver;

    private readonly Lock _subscriberGate = new();
    private readonly SemaphoreSlim _deliveryLock = new(1, 1);
    private readonly Queue<ReceivedMessage> _undelivered = new();
    private readonly Subscribers<ReceivedMessage> _subscribers;

    /// <summary>Creates the pipeline; call <see cref="InitializeAsync"/> before the connection connects.</summary>
    public SecureMessenger(
        Address self, ClientStore store, SelfRestClient rest, IdentityDirectory directory, MessagingConnection connection,
        TimeProvider? timeProvider = null, ILogger? logger = null, TimeSpan? deviceListMaxAge = null, Subscribers<ReceivedMessage>? subscribers = null,
        Func<ReceivedMessage, ClientStoreBatch, object?>? prepareReceive = null, bool commitReceiveWithAnswer = false)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(rest);
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(connection);
        _self = self;
        _store = store;
        _connection = connection;
        _subscribers = subscribers ?? new Subscribers<ReceivedMessage>();
        var time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _olm = new OlmSessions(store, time);
        _oneTimeKeys = new OneTimeKeys(_olm, rest, self, _logger);
        _sender = new MessageSender(self, _olm, rest, directory, connection, time, _logger, deviceListMaxAge ?? DefaultDeviceListMaxAge);
        _receiver = new MessageReceiver(self, _olm, _oneTimeKeys, directory, connection, time, _logger, (message, ct) => DeliverAsync(message, ct), prepareReceive, commitReceiveWithAnswer);
    }

    /// <summary>This endpoint's address.</summary>
    public Address Address => _self;

    /// <summary>The highest inbox offset processed and committed.</summary>
    public long ProcessedOffset => _receiver.ProcessedOffset;

    /// <summary>How many one-time keys the account still holds unused.</summary>
    public int UnusedOneTimeKeyCount => _olm.Account.UnusedOneTimeKeyCount;

    /// <summary>This device's Olm identity keys.</summary>
    public OlmIdentityKeys IdentityKeys => _olm.Account.IdentityKeys;

    /// <summary>
    /// Loads the Olm account from the store, or creates it from the device key with 100 one-time keys on the first
    /// start (or when the device key changed); publishes one-time keys that are not published yet; loads the
    /// processed offset and hands it to the connection.
    /// </summary>
    public async Task InitializeAsync(SigningKey deviceKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deviceKey);
        using (await _olm.LockAsync(cancellationToken).ConfigureAwait(false))
        {
            await _olm.LoadOrCreateAccountLockedAsync(deviceKey, cancellationToken).ConfigureAwait(false);
            _receiver.StartAt(await _store.GetProcessedOffsetAsync(cancellationToken).ConfigureAwait(false));
            await _oneTimeKeys.PublishUnpublishedLockedAsync(throwOnFailure: true, cancellationToken).ConfigureAwait(false);
        }

        await _store.PruneExpiredAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Registers a handler for received messages; they arrive one at a time, in inbox order. Messages received while
    /// nobody subscribed are handed to the first subscriber. Dispose the result to unsubscribe.
    /// </summary>
    public IDisposable Subscribe(Func<ReceivedMessage, CancellationToken, ValueTask> handler) =>
        FlushingBacklog(() => _subscribers.Subscribe(handler));

    /// <summary>A stream of received messages (as <see cref="Subscribe"/>: the backlog first); dispose it to stop.</summary>
    public Subscribers<ReceivedMessage>.Reader OpenReader() => FlushingBacklog(_subscribers.OpenReader);

    private TSubscription FlushingBacklog<TSubscription>(Func<TSubscription> subscribe)
    {
        TSubscription subscription;
        bool flush;
        lock (_subscriberGate)
        {
            subscription = subscribe();
            flush = _undelivered.Count > 0;
        }

        if (flush)
        {
            _ = Task.Run(() => DeliverAsync(null, CancellationToken.None));
        }

        return subscription;
    }

    // ---- Sending (MessageSender) ----------------------------------------------------------------------------

    /// <summary>
    /// Encrypts <paramref name="message"/> to every active device of <paramref name="recipientId"/> and sends one frame
    /// per device; completes when the server has stored it for at least one device. A recipient who has not connected
    /// to this identity gives <see cref="MessageRefusedException"/> with <see cref="MessageRefusedException.IsNotConnected"/>
    /// (from the REST 403 or the server's ERR); an unknown recipient a <see cref="SelfApiException"/> with 404.
    /// The frame's <c>message_type</c> is the message's own <c>typ</c> (spec §6). Changes in <paramref name="alongWith"/>
    /// (an open request, say) are committed in the same transaction as the sessions, before any frame leaves; they are
    /// not committed when the message cannot be encrypted to any device. When <paramref name="answering"/> is a received
    /// message whose receive is not committed yet (<see cref="ReceivedMessage.Commit"/>), that receive is committed in
    /// the same transaction too.
    /// </summary>
    public Task SendAsync(
        string recipientId, FlattenedJws message, MsgSubType subtype = MsgSubType.Unknown, uint priority = 0, ClientStoreBatch? alongWith = null,
        ReceivedMessage? answering = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(recipientId);
        ArgumentNullException.ThrowIfNull(message);
        _ = _olm.Account;
        return _sender.SendAsync(recipientId, message, subtype, priority, alongWith, answering?.Commit, cancellationToken);
    }

    /// <summary>Forgets the cached device list of <paramref name="recipientId"/>, so the next send fetches it again.</summary>
    public void ForgetDevices(string recipientId) => _sender.ForgetDevices(recipientId);

    // ---- Receiving (MessageReceiver) ------------------------------------------------------------------------

    /// <summary>
    /// Processes one incoming frame (the <see cref="MessagingConnection"/> handler): decrypt, verify, dedupe, queue the
    /// commit; then, once that commit is durable and every earlier frame is done, advance the processed offset and
    /// deliver. Returns once the frame is opened and its commit queued (before it is durable), so that the next frame
    /// can share the commit; call it for one frame at a time, in inbox order. Frames at or below the highest offset
    /// already opened are skipped.
    /// </summary>
    public ValueTask HandleFrameAsync(MessageFrame frame, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(frame);
        _ = _olm.Account;
        return _receiver.HandleFrameAsync(frame, cancellationToken);
    }

    /// <summary>Completes when every frame handed to <see cref="HandleFrameAsync"/> so far is committed and delivered (or failed).</summary>
    public Task WhenReceivedAsync() => _receiver.WhenReceivedAsync();

    // ---- One-time keys (OneTimeKeys) ------------------------------------------------------------------------

    /// <summary>Publishes 100 new one-time keys when fewer than 10 remain (and any not yet published).</summary>
    public Task ReplenishAsync(CancellationToken cancellationToken = default) => _oneTimeKeys.ReplenishAsync(cancellationToken);

    // ---- Delivery -------------------------------------------------------------------------------------------

    private async Task DeliverAsync(ReceivedMessage? message, CancellationToken cancellationToken)
    {
        if (message is not null)
        {
            _sender.NoteSender(message.Sender);
        }

        await _deliveryLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            while (true)
            {
                ReceivedMessage next;
                lock (_subscriberGate)
                {
                    if (_subscribers.IsEmpty)
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

                await _subscribers.NotifyAsync(next, ex => Log.SubscriberFailed(_logger, ex, next.Offset), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _deliveryLock.Release();
        }
    }
}

/// <summary>A device of the recipient cannot be written to (no current key in its history).</summary>
internal sealed class DeviceUnreachableException(string message) : Exception(message);
