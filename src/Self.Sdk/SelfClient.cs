using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Self.Messaging;
using Self.Protocol;
using Self.Protocol.Keys;
using Self.Sdk.Authentication;
using Self.Sdk.Connections;
using Self.Sdk.Instances;

namespace Self.Sdk;

/// <summary>
/// What an application uses to talk to the Self network: one long-lived, thread-safe client per app. Build it from
/// <see cref="SelfClientOptions"/>, call <see cref="StartAsync"/>, then ask users to authenticate through
/// <see cref="Authentication"/> and invite them to connect through <see cref="Connections"/>.
/// </summary>
/// <example>
/// <code>
/// await using var client = new SelfClient(options);
/// await client.StartAsync();
/// var response = await client.Authentication.RequestAsync("1112223334");
/// if (response.Accepted) { /* signed in */ }
/// </code>
/// </example>
public sealed class SelfClient : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly RequestTracker _tracker;
    private readonly Lock _gate = new();
    private SelfEndpoint? _endpoint;
    private SigningKey? _signingKey;
    private Task? _restored;
    private int _started;
    private int _ready;
    private bool _disposed;

    /// <summary>Creates the client; nothing is checked or opened until <see cref="StartAsync"/>.</summary>
    public SelfClient(SelfClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        var loggers = options.LoggerFactory ?? NullLoggerFactory.Instance;
        _logger = loggers.CreateLogger<SelfClient>();
        _tracker = new RequestTracker(options.TimeProvider, loggers.CreateLogger<AuthenticationService>());
        Authentication = new AuthenticationService(this, _tracker, loggers.CreateLogger<AuthenticationService>());
        Connections = new ConnectionsService(this, loggers.CreateLogger<ConnectionsService>());
    }

    /// <summary>The options the client was built with.</summary>
    public SelfClientOptions Options { get; }

    /// <summary>Authentication by Self ID, QR code and deep link.</summary>
    public AuthenticationService Authentication { get; }

    /// <summary>Connection invitations.</summary>
    public ConnectionsService Connections { get; }

    /// <summary>The app's name as registered on the network (known after <see cref="StartAsync"/>).</summary>
    public string? AppName { get; private set; }

    /// <summary>
    /// Where the client is in its life: whether it started, is connected to the network's messaging service, is
    /// reconnecting, or failed to start (see <see cref="StartFailure"/>). Health checks report this.
    /// </summary>
    public SelfClientStatus Status
    {
        get
        {
            if (_disposed)
            {
                return SelfClientStatus.Stopped;
            }

            if (StartFailure is not null)
            {
                return SelfClientStatus.Failed;
            }

            if (_endpoint is not { } endpoint || Volatile.Read(ref _ready) == 0)
            {
                return Volatile.Read(ref _started) == 0 ? SelfClientStatus.NotStarted : SelfClientStatus.Starting;
            }

            return endpoint.Connection.State switch
            {
                ConnectionState.Connected => SelfClientStatus.Connected,
                ConnectionState.Created or ConnectionState.Connecting or ConnectionState.Reconnecting => SelfClientStatus.Reconnecting,
                ConnectionState.Closed => SelfClientStatus.Stopped,
                _ => SelfClientStatus.Failed,
            };
        }
    }

    /// <summary>Why <see cref="StartAsync"/> failed, when it did; null otherwise.</summary>
    public Exception? StartFailure { get; private set; }

    /// <summary>Raised when the messaging connection is lost; the client reconnects by itself unless told otherwise.</summary>
    public event EventHandler<MessagingDisconnectedEventArgs>? Disconnected;

    /// <summary>Raised after each (re)connection to the network.</summary>
    public event EventHandler? Connected;

    internal TimeProvider TimeProvider => Options.TimeProvider;

    internal SigningKey SigningKey => _signingKey ?? throw NotStarted();

    internal SelfEndpoint Endpoint => _endpoint ?? throw NotStarted();

    /// <summary>
    /// Checks the options, opens the encrypted store, checks the app's key with the network, connects, and re-opens the
    /// requests that were still waiting when the app last stopped.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid; the message says which and how to fix it.</exception>
    /// <exception cref="InvalidSecretKeyException">The network refused the app's secret key.</exception>
    /// <exception cref="ServerUnreachableException">The network could not be reached after the configured retries.</exception>
    /// <exception cref="StorageKeyException">The storage key does not open the existing store.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            throw new InvalidOperationException("StartAsync was already called.");
        }

        try
        {
            await StartCoreAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _ready, 1);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Every failure path of StartCoreAsync has disposed the endpoint; calls now say why the client is not started.
            _endpoint = null;
            StartFailure = ex;
            throw;
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        Options.Validate();
        var appKey = SigningKey.ParseSecret(Options.AppSecret);
        var apiUrl = Options.ResolveApiUrl();
        _tracker.UseConversationIds(new ConversationIds(appKey.Seed, Options.AppId, Options.DeviceId));

        // Device "1" is the app key itself; any other device id is an instance with its own key (docs/app-devices.md).
        _signingKey = await AppDeviceKeys.EnsureAsync(Options, appKey, apiUrl, _logger, cancellationToken).ConfigureAwait(false);
        var endpoint = new SelfEndpoint(new SelfEndpointOptions
        {
            IdentityId = Options.AppId,
            DeviceId = Options.DeviceId,
            SigningKey = _signingKey,
            ApiUrl = apiUrl,
            MessagingUrl = Options.ResolveMessagingUrl(),
            StorageDirectory = Options.StorageDirectory,
            StorageKey = Options.StorageKey,
            TimeProvider = Options.TimeProvider,
            LoggerFactory = Options.LoggerFactory,
            MaxRetries = Options.MaxRetries,

            // An answer's open request leaves the store in the answer's own receive commit.
            PrepareReceive = (message, batch) => Authentication.PrepareReceive(message, batch),
        });
        endpoint.Connected += (_, e) => Connected?.Invoke(this, e);
        endpoint.Disconnected += (_, e) => Disconnected?.Invoke(this, e);
        _endpoint = endpoint;

        try
        {
            // A token signed with the app's key: the network's answer says whether the key is the app's.
            var app = await endpoint.Rest.GetAppAsync(Options.AppId, cancellationToken).ConfigureAwait(false);
            AppName = app.Name;
        }
        catch (SelfApiException ex) when (ex.StatusCode is HttpStatusCode.Unauthorized)
        {
            await endpoint.DisposeAsync().ConfigureAwait(false);
            throw new InvalidSecretKeyException(Options.AppId, ex.Message, ex);
        }
        catch (SelfApiException ex) when (ex.StatusCode is HttpStatusCode.NotFound)
        {
            await endpoint.DisposeAsync().ConfigureAwait(false);
            throw new InvalidSecretKeyException(Options.AppId, $"app {Options.AppId} does not exist on {apiUrl}", ex);
        }
        catch
        {
            await endpoint.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        // Subscribed before the connection opens, so that answers waiting in the inbox are not missed.
        endpoint.Subscribe(HandleMessageAsync);
        try
        {
            await endpoint.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (AuthenticationFailedException ex)
        {
            await endpoint.DisposeAsync().ConfigureAwait(false);
            throw new InvalidSecretKeyException(Options.AppId, ex.Reason, ex);
        }
        catch
        {
            await endpoint.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        await EnsureRestoredAsync().ConfigureAwait(false);
        Log.Started(_logger, Options.AppId, apiUrl);
    }

    /// <summary>Closes the connection and the store. Open requests stay stored and are re-opened on the next start.</summary>
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

        await _tracker.DisposeAsync().ConfigureAwait(false);
        if (_endpoint is not null)
        {
            await _endpoint.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask HandleMessageAsync(ReceivedMessage message, CancellationToken cancellationToken)
    {
        // Answers to requests sent before a restart must find them open: restore before the first message counts.
        await EnsureRestoredAsync().ConfigureAwait(false);
        await Authentication.HandleAsync(message, cancellationToken).ConfigureAwait(false);
        await Connections.HandleAsync(message).ConfigureAwait(false);
    }

    private Task EnsureRestoredAsync()
    {
        lock (_gate)
        {
            return _restored ??= _tracker.RestoreAsync(Endpoint.Store, CancellationToken.None);
        }
    }

    private InvalidOperationException NotStarted() => StartFailure is { } failure
        ? new InvalidOperationException($"The SelfClient did not start: {failure.Message}", failure)
        : new InvalidOperationException("Call SelfClient.StartAsync first.");
}
