using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Self.Protocol.Frames;
using Self.Protocol.Identifiers;
using Self.Protocol.Jws;

namespace Self.Messaging;

/// <summary>
/// One identity's device on the network: REST client, key directory, local encrypted store, websocket session and
/// the encrypt/decrypt pipeline, composed. <see cref="StartAsync"/> opens the store, publishes one-time keys on the
/// first start and connects; received messages arrive at <see cref="Subscribe"/> handlers and through
/// <see cref="ReadMessagesAsync"/>. What <c>SelfClient</c> and <c>SelfDevice</c> are built on. Thread-safe.
/// </summary>
internal sealed class SelfEndpoint : IAsyncDisposable
{
    private readonly SelfEndpointOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Lock _gate = new();

    // Handlers and readers of received messages; they may subscribe before StartAsync, and the messenger delivers to
    // the same list once it exists.
    private readonly Subscribers<ReceivedMessage> _subscribers = new();
    private ClientStore? _store;
    private MessagingConnection? _connection;
    private SecureMessenger? _messenger;
    private int _started;
    private bool _disposed;

    /// <summary>Creates the endpoint; nothing is opened until <see cref="StartAsync"/>.</summary>
    public SelfEndpoint(SelfEndpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.IdentityId);
        ArgumentException.ThrowIfNullOrEmpty(options.DeviceId);
        ArgumentNullException.ThrowIfNull(options.SigningKey);
        ArgumentNullException.ThrowIfNull(options.ApiUrl);
        ArgumentNullException.ThrowIfNull(options.MessagingUrl);
        ArgumentException.ThrowIfNullOrEmpty(options.StorageDirectory);
        ArgumentException.ThrowIfNullOrEmpty(options.StorageKey);
        _options = options;
        _loggers = options.LoggerFactory ?? NullLoggerFactory.Instance;
        Address = new Address(options.IdentityId, options.DeviceId);
        _ownsHttp = options.HttpClient is null;
        _http = options.HttpClient ?? new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Rest = new SelfRestClient(
            _http,
            new SelfRestClientOptions
            {
                BaseAddress = options.ApiUrl,
                IdentityId = options.IdentityId,
                SigningKey = options.SigningKey,
                TimeProvider = options.TimeProvider,
                MaxRetries = options.MaxRetries,
                RetryBaseDelay = options.RetryBaseDelay,
            },
            _loggers.CreateLogger<SelfRestClient>());
        Directory = new IdentityDirectory(Rest, options.TimeProvider, options.HistoryMaxAge, _loggers.CreateLogger<IdentityDirectory>());
    }

    /// <summary>Raised after each successful (re)authentication of the websocket.</summary>
    public event EventHandler? Connected;

    /// <summary>Raised when the websocket is lost (see <see cref="MessagingDisconnectedEventArgs.WillReconnect"/>).</summary>
    public event EventHandler<MessagingDisconnectedEventArgs>? Disconnected;

    /// <summary>This endpoint's address.</summary>
    public Address Address { get; }

    /// <summary>The settings.</summary>
    public SelfEndpointOptions Options => _options;

    /// <summary>The REST client of this identity.</summary>
    public SelfRestClient Rest { get; }

    /// <summary>The cache of other identities' key histories.</summary>
    public IdentityDirectory Directory { get; }

    /// <summary>The local store (after <see cref="StartAsync"/>).</summary>
    public ClientStore Store => _store ?? throw NotStarted();

    /// <summary>The websocket session (after <see cref="StartAsync"/>).</summary>
    public MessagingConnection Connection => _connection ?? throw NotStarted();

    /// <summary>The encrypt/decrypt pipeline (after <see cref="StartAsync"/>).</summary>
    public SecureMessenger Messenger => _messenger ?? throw NotStarted();

    /// <summary>
    /// Opens the store (a wrong storage key throws <see cref="StorageKeyException"/>), loads or creates the Olm account
    /// and publishes its one-time keys when new, then connects and authenticates the websocket.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            throw new InvalidOperationException("StartAsync was already called.");
        }

        var time = _options.TimeProvider;
        try
        {
            _store = await ClientStore.OpenAsync(
                _options.StorageDirectory, Address, _options.StorageKey, time, _loggers.CreateLogger<ClientStore>(), cancellationToken).ConfigureAwait(false);

            SecureMessenger? messenger = null;
            _connection = new MessagingConnection(
                new MessagingConnectionOptions
                {
                    MessagingUri = _options.MessagingUrl,
                    IdentityId = _options.IdentityId,
                    DeviceId = _options.DeviceId,
                    SigningKey = _options.SigningKey,
                    TimeProvider = time,
                    InitialConnectRetries = _options.MaxRetries,
                    ReconnectBaseDelay = _options.ReconnectBaseDelay,
                    ReconnectMaxDelay = _options.ReconnectMaxDelay,
                    ConnectWaitTimeout = _options.ConnectWaitTimeout,
                    ConfigureWebSocket = _options.ConfigureWebSocket,
                },
                (frame, token) => messenger!.HandleFrameAsync(frame, token),
                _loggers.CreateLogger<MessagingConnection>());
            _connection.Connected += (_, e) => Connected?.Invoke(this, e);
            _connection.Disconnected += (_, e) => Disconnected?.Invoke(this, e);

            messenger = new SecureMessenger(
                Address, _store, Rest, Directory, _connection, time, _loggers.CreateLogger<SecureMessenger>(), _options.DeviceListMaxAge, _subscribers,
                _options.PrepareReceive, _options.CommitReceiveWithAnswer);
            await messenger.InitializeAsync(_options.SigningKey, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                _messenger = messenger;
            }

            await _connection.ConnectAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await CloseAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Registers a handler for received messages (one at a time, in order). May be called before <see cref="StartAsync"/>,
    /// so that messages waiting in the inbox are not missed. Dispose the result to unsubscribe.
    /// </summary>
    public IDisposable Subscribe(Func<ReceivedMessage, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_gate)
        {
            // Before the start there is no backlog to hand over; after it the messenger hands it to this handler.
            return _messenger is null ? _subscribers.Subscribe(handler) : _messenger.Subscribe(handler);
        }
    }

    /// <summary>Received messages as a stream, from the moment enumeration starts until the endpoint is disposed.</summary>
    public async IAsyncEnumerable<ReceivedMessage> ReadMessagesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Subscribers<ReceivedMessage>.Reader reader;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            reader = _messenger is null ? _subscribers.OpenReader() : _messenger.OpenReader();
        }

        using (reader)
        {
            await foreach (var message in reader.Values.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return message;
            }
        }
    }

    /// <summary>The received messages as a stream (<see cref="ReadMessagesAsync"/> without a token).</summary>
    public IAsyncEnumerable<ReceivedMessage> Messages => ReadMessagesAsync();

    /// <summary>Encrypts and sends a signed message to every device of <paramref name="recipientId"/> (see <see cref="SecureMessenger.SendAsync"/>).</summary>
    public Task SendAsync(
        string recipientId, FlattenedJws message, MsgSubType subtype = MsgSubType.Unknown, uint priority = 0, ClientStoreBatch? alongWith = null,
        ReceivedMessage? answering = null, CancellationToken cancellationToken = default) =>
        Messenger.SendAsync(recipientId, message, subtype, priority, alongWith, answering, cancellationToken);

    /// <summary>Closes the websocket (code 3999) and the store.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        await CloseAsync().ConfigureAwait(false);
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private async Task CloseAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }

        if (_store is not null)
        {
            await _store.DisposeAsync().ConfigureAwait(false);
        }

        _subscribers.Complete();
    }

    private static InvalidOperationException NotStarted() => new("Call StartAsync first.");
}
