using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Self.Messaging;
using Self.Protocol;
using Self.Protocol.Identifiers;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;
using Self.Protocol.Messages;

namespace Self.Device;

/// <summary>
/// A user's device on the Self network: it holds the user's keys, changes the identity's key history, connects the
/// user to apps, and receives and answers their authentication requests. One long-lived, thread-safe object per
/// device; <see cref="RegisterAsync"/> makes a new identity, <see cref="OpenAsync"/> reopens one from its encrypted
/// storage folder, <see cref="EnrollAsync"/> starts a further device of an identity and <see cref="RecoverAsync"/>
/// takes an identity back with its recovery key.
/// </summary>
/// <example>
/// <code>
/// await using var device = await SelfDevice.RegisterAsync(options);
/// await device.ConnectAsync(appId);
/// await foreach (var request in device.Requests)
/// {
///     await request.AcceptAsync();
/// }
/// </code>
/// </example>
public sealed partial class SelfDevice : IAsyncDisposable
{
    /// <summary>Devices refuse requests whose expiry is further away than this (spec §10).</summary>
    public static readonly TimeSpan MaxRequestLifetime = RequestRules.MaxRequestLifetime;

    /// <summary>How far the app's clock may be ahead of this device's.</summary>
    public static readonly TimeSpan ClockSkew = RequestRules.ClockSkew;

    private readonly DeviceVault _vault;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    // Serializes what changes the device's key or replaces its endpoint: history operations, rotation, dispose.
    private readonly SemaphoreSlim _keyLock = new(1, 1);
    private readonly Channel<IncomingRequest> _requests =
        Channel.CreateUnbounded<IncomingRequest>(new UnboundedChannelOptions { SingleWriter = false, SingleReader = false });

    private readonly ConcurrentDictionary<string, IncomingRequest> _open = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string?> _appNames = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private VaultContents _contents;
    private DeviceSession? _session;
    private Task? _restored;
    private bool _disposed;
    private bool _connectMessaging = true;
    private bool _messagingStarted;

    private SelfDevice(SelfDeviceOptions options, DeviceVault vault, VaultContents contents, HttpClient? http)
    {
        Options = options;
        _vault = vault;
        _contents = contents;
        _loggers = options.LoggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggers.CreateLogger<SelfDevice>();
        _time = options.TimeProvider;
        _ownsHttp = options.HttpClient is null;
        _http = options.HttpClient ?? http ?? NewHttpClient();
        ServerUrl = options.ResolveServerUrl();
    }

    /// <summary>The options the device was opened with.</summary>
    public SelfDeviceOptions Options { get; }

    /// <summary>The user's Self ID.</summary>
    public string SelfId => Volatile.Read(ref _contents).SelfId;

    /// <summary>This device's id.</summary>
    public string DeviceId => Volatile.Read(ref _contents).DeviceId;

    /// <summary>The key id (<c>kid</c>) of this device's current key; it changes with <see cref="RotateKeyAsync"/>.</summary>
    public string KeyId => Session.Key.Kid;

    /// <summary>True when this device holds the identity's recovery key (see <see cref="ExportRecoveryKey"/>).</summary>
    public bool HoldsRecoveryKey => Volatile.Read(ref _contents).RecoveryKey is not null;

    /// <summary>
    /// Raised after each answer the device sends: by a person, by the consent policy, or <c>unauthorized</c> by itself.
    /// Handlers run on the device's receiving loop: keep them short, and never dispose the device from one.
    /// </summary>
    public event EventHandler<RequestAnsweredEventArgs>? RequestAnswered;

    /// <summary>Raised after each successful (re)connection to the network.</summary>
    public event EventHandler? Connected;

    /// <summary>Raised when the connection to the network is lost (see <see cref="MessagingDisconnectedEventArgs.WillReconnect"/>).</summary>
    public event EventHandler<MessagingDisconnectedEventArgs>? Disconnected;

    private Uri ServerUrl { get; }

    /// <summary>How many transactions the device's store has committed (for tests of how its writes are grouped).</summary>
    internal long StoreTransactionCount => Session.Endpoint.Store.TransactionCount;

    private DeviceSession Session
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Volatile.Read(ref _session) ?? throw new InvalidOperationException("The device is changing its key; try again in a moment.");
        }
    }

    // ---- Creating and opening ---------------------------------------------------------------------------------

    /// <summary>
    /// Registers a new identity: generates the device key and the recovery key, publishes the root history operation
    /// (the device key signs it; it adds the device key and the recovery key), keeps both keys encrypted in
    /// <see cref="SelfDeviceOptions.StorageDirectory"/>, creates the Olm account, publishes 100 one-time keys and connects.
    /// </summary>
    /// <param name="options">Where the network is and where to keep the device; the folder must not hold a device yet.</param>
    /// <param name="wantedSelfId">A free 10-11 digit Self ID to ask for (e.g. <c>1112223334</c>); the network picks one when null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="SelfIdTakenException">Someone already has <paramref name="wantedSelfId"/>.</exception>
    /// <exception cref="DeviceAlreadyExistsException">The folder already holds a device.</exception>
    /// <exception cref="ServerUnreachableException">The network could not be reached.</exception>
    public static async Task<SelfDevice> RegisterAsync(SelfDeviceOptions options, string? wantedSelfId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (wantedSelfId is not null && !SelfIds.IsUserId(wantedSelfId))
        {
            throw new ArgumentException($"'{wantedSelfId}' is not a Self ID: expected 10 or 11 digits, such as 1112223334.", nameof(wantedSelfId));
        }

        var vault = new DeviceVault(options.StorageDirectory, options.StorageKey);
        if (vault.Exists)
        {
            throw new DeviceAlreadyExistsException(vault.Directory);
        }

        var deviceId = options.DeviceId ?? SelfDeviceOptions.DefaultDeviceId;
        var deviceKey = SigningKey.Generate();
        var recoveryKey = SigningKey.Generate();
        var root = HistoryOperations.CreateIdentity(deviceKey, deviceId, recoveryKey, options.TimeProvider.GetUtcNow());

        var http = options.HttpClient ?? NewHttpClient();
        try
        {
            var anonymous = new SelfRestClient(http, RestOptions(options, null, null));
            string selfId;
            try
            {
                selfId = await anonymous.RegisterIdentityAsync(root, wantedSelfId, cancellationToken).ConfigureAwait(false);
            }
            catch (SelfApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict && wantedSelfId is not null)
            {
                throw new SelfIdTakenException(wantedSelfId, ex);
            }

            var contents = new VaultContents
            {
                SelfId = selfId,
                DeviceId = deviceId,
                DeviceKey = deviceKey.ToSecret(),
                RecoveryKey = recoveryKey.ToSecret(),
            };

            // The identity exists from here on: its keys are kept whatever the caller's token says.
            await vault.WriteAsync(contents, CancellationToken.None).ConfigureAwait(false);
            var device = new SelfDevice(options, vault, contents, options.HttpClient is null ? http : null);
            http = null;
            await device.StartOrDisposeAsync(deviceKey, cancellationToken).ConfigureAwait(false);
            Log.Registered(device._logger, selfId, deviceId, device.ServerUrl);
            return device;
        }
        finally
        {
            if (options.HttpClient is null)
            {
                http?.Dispose();
            }
        }
    }

    /// <summary>
    /// Reopens the device kept in <see cref="SelfDeviceOptions.StorageDirectory"/>: checks with the network that its key
    /// is still the device's current key (finishing a key rotation that was interrupted), then connects.
    /// </summary>
    /// <exception cref="DeviceNotFoundException">The folder holds no device.</exception>
    /// <exception cref="StorageKeyException">The storage key is not the one the device was created with.</exception>
    /// <exception cref="DeviceRevokedException">The device was revoked, or the identity was recovered elsewhere.</exception>
    public static async Task<SelfDevice> OpenAsync(SelfDeviceOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var vault = new DeviceVault(options.StorageDirectory, options.StorageKey);
        var contents = await vault.ReadAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new DeviceNotFoundException(vault.Directory);
        if (options.DeviceId is { } wanted && wanted != contents.DeviceId)
        {
            throw new ArgumentException(
                $"{vault.Directory} holds device '{contents.DeviceId}' of {contents.SelfId}, not device '{wanted}'.", nameof(options));
        }

        var device = new SelfDevice(options, vault, contents, http: null) { _connectMessaging = options.ConnectMessaging };
        SigningKey key;
        try
        {
            key = await device.ReconcileKeyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await device.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        await device.StartOrDisposeAsync(key, cancellationToken).ConfigureAwait(false);
        return device;
    }

    /// <summary>
    /// Starts a further device of an identity from what <see cref="AddDeviceAsync"/> returned on one of its devices.
    /// The new device keeps its key encrypted in its own <see cref="SelfDeviceOptions.StorageDirectory"/>, publishes its
    /// one-time keys and connects.
    /// </summary>
    /// <exception cref="DeviceAlreadyExistsException">The folder already holds a device.</exception>
    /// <exception cref="DeviceRevokedException">The enrolled key is not (or no longer) the device's current key.</exception>
    public static async Task<SelfDevice> EnrollAsync(SelfDeviceOptions options, DeviceEnrollment enrollment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(enrollment);
        options.Validate();
        if (!SelfIds.IsUserId(enrollment.SelfId) || !SelfIds.IsDeviceId(enrollment.DeviceId))
        {
            throw new ArgumentException("The enrollment does not name a Self ID and a device id.", nameof(enrollment));
        }

        if (options.DeviceId is { } wanted && wanted != enrollment.DeviceId)
        {
            throw new ArgumentException($"The enrollment is for device '{enrollment.DeviceId}', not '{wanted}'.", nameof(options));
        }

        var key = ParseKey(enrollment.DeviceSecret, nameof(enrollment));
        var vault = new DeviceVault(options.StorageDirectory, options.StorageKey);
        if (vault.Exists)
        {
            throw new DeviceAlreadyExistsException(vault.Directory);
        }

        var contents = new VaultContents { SelfId = enrollment.SelfId, DeviceId = enrollment.DeviceId, DeviceKey = key.ToSecret() };
        var device = new SelfDevice(options, vault, contents, http: null);
        try
        {
            key = await device.ReconcileKeyAsync(cancellationToken).ConfigureAwait(false);
            await vault.WriteAsync(contents, CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            await device.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        await device.StartOrDisposeAsync(key, cancellationToken).ConfigureAwait(false);
        return device;
    }

    /// <summary>The active device ids of the user, as the network lists them.</summary>
    public async Task<IReadOnlyList<string>> GetDevicesAsync(CancellationToken cancellationToken = default) =>
        await Session.Endpoint.Rest.GetDevicesAsync(SelfId, cancellationToken).ConfigureAwait(false);

    /// <summary>The user's key history as the network holds it, validated.</summary>
    public async Task<SignatureGraph> GetHistoryAsync(CancellationToken cancellationToken = default) =>
        await FetchOwnGraphAsync(Session.Endpoint.Rest, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// The identity's recovery key (<c>kid:seed</c>), for the person to write down and keep offline; with it
    /// <see cref="RecoverAsync"/> takes the identity back when every device is lost. Secret: never log it.
    /// </summary>
    /// <exception cref="InvalidOperationException">This device does not hold the recovery key (only the registering or recovering device does).</exception>
    public string ExportRecoveryKey()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Volatile.Read(ref _contents).RecoveryKey
            ?? throw new InvalidOperationException($"Device {DeviceId} does not hold the recovery key of {SelfId}: the device that registered (or last recovered) the identity does.");
    }

    /// <summary>
    /// Closes the connection and the local store; requests left to a person stay stored and come back on the next open.
    /// Not from a consent policy or an event handler of this device: those run on the loop this waits for.
    /// </summary>
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

        _requests.Writer.TryComplete();
        await _keyLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var session = Interlocked.Exchange(ref _session, null);
            if (session is not null)
            {
                await session.Endpoint.DisposeAsync().ConfigureAwait(false);
            }

            if (_ownsHttp)
            {
                _http.Dispose();
            }
        }
        finally
        {
            _keyLock.Release();
        }
    }

    // ---- Internals --------------------------------------------------------------------------------------------

    private static HttpClient NewHttpClient() => new() { Timeout = TimeSpan.FromSeconds(30) };

    private static SelfRestClientOptions RestOptions(SelfDeviceOptions options, string? identityId, SigningKey? key) => new()
    {
        BaseAddress = options.ResolveServerUrl(),
        IdentityId = identityId,
        SigningKey = key,
        TimeProvider = options.TimeProvider,
        MaxRetries = options.MaxRetries,
    };

    private SelfRestClient RestFor(SigningKey key) =>
        new(_http, RestOptions(Options, SelfId, key), _loggers.CreateLogger<SelfRestClient>());

    private static SigningKey ParseKey(string secret, string parameter)
    {
        try
        {
            return SigningKey.ParseSecret(secret);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or SelfException)
        {
            throw new ArgumentException("The key is not a 'kid:seed' secret key.", parameter, ex);
        }
    }

    private static async Task<SignatureGraph> FetchOwnGraphAsync(SelfRestClient rest, CancellationToken cancellationToken)
    {
        var record = await rest.GetIdentityAsync(rest.IdentityId!, cancellationToken).ConfigureAwait(false);
        return SignatureGraph.Load(record.History);
    }

    /// <summary>
    /// Checks the stored key against the network's history and returns the key to use: completes or drops a rotation
    /// that was interrupted, and re-registers the device when the network lists it as inactive.
    /// </summary>
    private async Task<SigningKey> ReconcileKeyAsync(CancellationToken cancellationToken)
    {
        var contents = Volatile.Read(ref _contents);
        var key = SigningKey.ParseSecret(contents.DeviceKey);
        var pending = contents.PendingDeviceKey is { } p ? SigningKey.ParseSecret(p) : null;
        var rest = RestFor(key);
        SignatureGraph graph;
        try
        {
            graph = await FetchOwnGraphAsync(rest, cancellationToken).ConfigureAwait(false);
        }
        catch (SelfApiException ex) when (ex.StatusCode == HttpStatusCode.Unauthorized && pending is not null)
        {
            // The stored key was revoked: by the rotation in flight, if the network took it.
            rest = RestFor(pending);
            try
            {
                graph = await FetchOwnGraphAsync(rest, cancellationToken).ConfigureAwait(false);
            }
            catch (SelfApiException inner) when (inner.StatusCode == HttpStatusCode.Unauthorized)
            {
                throw new DeviceRevokedException(contents.SelfId, contents.DeviceId, "the network no longer accepts its key", inner);
            }
        }
        catch (SelfApiException ex) when (ex.StatusCode == HttpStatusCode.Unauthorized)
        {
            throw new DeviceRevokedException(contents.SelfId, contents.DeviceId, "the network no longer accepts its key (" + ex.Message + ")", ex);
        }
        catch (SelfApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw new DeviceNotFoundException(_vault.Directory, $"The network at {ServerUrl} has no identity {contents.SelfId}: is this the network the device was registered on?");
        }

        var current = graph.CurrentDeviceKey(contents.DeviceId);
        if (pending is not null)
        {
            if (current?.Kid == pending.Kid)
            {
                contents = contents with { DeviceKey = pending.ToSecret(), PendingDeviceKey = null };
                key = pending;
                Log.PendingKeyPromoted(_logger, contents.DeviceId);
            }
            else
            {
                contents = contents with { PendingDeviceKey = null };
                Log.PendingKeyDropped(_logger, contents.DeviceId);
            }

            await _vault.WriteAsync(contents, CancellationToken.None).ConfigureAwait(false);
            Volatile.Write(ref _contents, contents);
            rest = RestFor(key);
        }

        if (current is null)
        {
            throw new DeviceRevokedException(contents.SelfId, contents.DeviceId, "the identity's history holds no current key for it");
        }

        if (current.Kid != key.Kid)
        {
            throw new DeviceRevokedException(contents.SelfId, contents.DeviceId, $"its key '{key.Kid}' is not the device's current key in the history");
        }

        // A key added a moment ago (an operation dated a second ahead) signs nothing until its time has come.
        await WaitUntilInForceAsync(graph).ConfigureAwait(false);
        var active = await rest.GetDevicesAsync(contents.SelfId, cancellationToken).ConfigureAwait(false);
        if (!active.Contains(contents.DeviceId, StringComparer.Ordinal))
        {
            await rest.RegisterDeviceAsync(contents.DeviceId, Options.Platform, cancellationToken).ConfigureAwait(false);
        }

        return key;
    }

    private async Task StartOrDisposeAsync(SigningKey key, CancellationToken cancellationToken)
    {
        try
        {
            await StartEndpointAsync(key, cancellationToken).ConfigureAwait(false);
            if (_messagingStarted)
            {
                await EnsureRestoredAsync().ConfigureAwait(false);
            }
        }
        catch
        {
            await DisposeAsync().ConfigureAwait(false);
            throw;
        }

        Log.Started(_logger, SelfId, DeviceId, ServerUrl);
    }

    /// <summary>Opens the messaging endpoint with <paramref name="key"/> and makes it the device's session.</summary>
    private async Task StartEndpointAsync(SigningKey key, CancellationToken cancellationToken)
    {
        var endpoint = new SelfEndpoint(new SelfEndpointOptions
        {
            IdentityId = SelfId,
            DeviceId = DeviceId,
            SigningKey = key,
            ApiUrl = ServerUrl,
            MessagingUrl = Options.ResolveMessagingUrl(),
            StorageDirectory = Options.StorageDirectory,
            StorageKey = Options.StorageKey,
            TimeProvider = _time,
            LoggerFactory = Options.LoggerFactory,
            HttpClient = _http,
            MaxRetries = Options.MaxRetries,
            // A request and the answer the device gives at once are committed together (one fsync, not two).
            CommitReceiveWithAnswer = true,
        });

        // The session is in place before the connection opens: requests waiting in the inbox are answered with it.
        endpoint.Connected += (_, e) => Connected?.Invoke(this, e);
        endpoint.Disconnected += (_, e) => Disconnected?.Invoke(this, e);
        var session = new DeviceSession(endpoint, key);
        Volatile.Write(ref _session, session);
        endpoint.Subscribe((message, token) => HandleMessageAsync(session, message, token));
        if (!_connectMessaging)
        {
            // REST only: nothing listens, so nothing supersedes another process's connection of this device.
            return;
        }

        try
        {
            await endpoint.StartAsync(cancellationToken).ConfigureAwait(false);
            _messagingStarted = true;
        }
        catch (AuthenticationFailedException ex)
        {
            Interlocked.CompareExchange(ref _session, null, session);
            await endpoint.DisposeAsync().ConfigureAwait(false);
            throw new DeviceRevokedException(SelfId, DeviceId, $"the messaging server refused it ({ex.Reason})", ex);
        }
        catch
        {
            Interlocked.CompareExchange(ref _session, null, session);
            await endpoint.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private sealed record DeviceSession(SelfEndpoint Endpoint, SigningKey Key);
}
