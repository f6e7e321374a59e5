using System.Globalization;
using System.Net;
using System.Runtime.ExceptionServices;
using Self.Messaging;
using Self.Protocol;
using Self.Protocol.Identifiers;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;

namespace Self.Device;

// History operations (spec §3): each one is built against the history as the network holds it, signed, and appended
// with POST /history, which validates it. An operation takes effect at its timestamp; when two operations fall in the
// same second the later one is dated a second ahead, and the device waits (on its TimeProvider) until it is in force.
public sealed partial class SelfDevice
{
    private static readonly TimeSpan InForceMargin = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Adds a device to the identity: generates its key and appends a <c>key.add</c> operation signed by this device.
    /// Give the result to <see cref="EnrollAsync"/> on the new device (each device has its own storage folder).
    /// </summary>
    /// <param name="deviceId">The new device's id; the lowest free number from 2 up when null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="ArgumentException">The id is not a device id, or the identity already has an active device with it.</exception>
    public async Task<DeviceEnrollment> AddDeviceAsync(string? deviceId = null, CancellationToken cancellationToken = default)
    {
        if (deviceId is not null && !SelfIds.IsDeviceId(deviceId))
        {
            throw new ArgumentException($"'{deviceId}' is not a device id (1-64 of A-Z a-z 0-9 _ . -).", nameof(deviceId));
        }

        await _keyLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var session = Session;
            var graph = await FetchOwnGraphAsync(session.Endpoint.Rest, cancellationToken).ConfigureAwait(false);
            deviceId ??= FreeDeviceId(graph);
            if (graph.CurrentDeviceKey(deviceId) is not null)
            {
                throw new ArgumentException($"{SelfId} already has an active device '{deviceId}'.", nameof(deviceId));
            }

            var newKey = SigningKey.Generate();
            var operation = HistoryOperations.AddDevice(graph, session.Key, newKey, deviceId, _time.GetUtcNow());
            await AppendAsync(graph, operation, "add device " + deviceId, session.Key, newKey: null, cancellationToken).ConfigureAwait(false);
            return new DeviceEnrollment(SelfId, deviceId, newKey.ToSecret());
        }
        finally
        {
            _keyLock.Release();
        }
    }

    /// <summary>
    /// Replaces this device's key: a new key is generated, the history revokes the old one and adds the new one in one
    /// operation, and the device reconnects with the new key (a new Olm account with fresh one-time keys; existing
    /// sessions go on). If the device stops half-way, <see cref="OpenAsync"/> completes the change.
    /// </summary>
    public async Task RotateKeyAsync(CancellationToken cancellationToken = default)
    {
        await _keyLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var session = Session;
            var graph = await FetchOwnGraphAsync(session.Endpoint.Rest, cancellationToken).ConfigureAwait(false);
            var newKey = SigningKey.Generate();
            var operation = HistoryOperations.RotateDeviceKey(graph, session.Key, DeviceId, newKey, _time.GetUtcNow());

            // Written down before the network sees it, so that a crash after the append cannot lose the new key.
            var before = Volatile.Read(ref _contents);
            await _vault.WriteAsync(before with { PendingDeviceKey = newKey.ToSecret() }, cancellationToken).ConfigureAwait(false);
            if (await TryAppendAsync(graph, operation, "rotate key of device " + DeviceId, session.Key, newKey, CancellationToken.None).ConfigureAwait(false)
                is { } failure)
            {
                if (failure.CertainlyRefused)
                {
                    await _vault.WriteAsync(before, CancellationToken.None).ConfigureAwait(false);
                }

                // Otherwise the pending key stays: OpenAsync finds out whether the network took it.
                failure.Error.Throw();
            }

            var after = before with { DeviceKey = newKey.ToSecret(), PendingDeviceKey = null };
            await _vault.WriteAsync(after, CancellationToken.None).ConfigureAwait(false);
            Volatile.Write(ref _contents, after);
            await WaitUntilInForceAsync(graph.Append(operation)).ConfigureAwait(false);

            // The old endpoint holds the store and a connection authenticated with the old key: close it first.
            Volatile.Write(ref _session, null);
            await session.Endpoint.DisposeAsync().ConfigureAwait(false);
            await ClearStaleOneTimeKeysAsync(RestFor(newKey), DeviceId, CancellationToken.None).ConfigureAwait(false);
            await StartEndpointAsync(newKey, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _keyLock.Release();
        }
    }

    /// <summary>Revokes another device of the identity: its key is revoked from now, so it can no longer sign in, send or receive.</summary>
    /// <exception cref="ArgumentException">The identity has no active device with this id.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="deviceId"/> is this device.</exception>
    public async Task RevokeDeviceAsync(string deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        if (deviceId == DeviceId)
        {
            throw new InvalidOperationException(
                $"Device {DeviceId} cannot revoke itself: revoke it from another device of {SelfId}, or recover the identity with its recovery key.");
        }

        await _keyLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var session = Session;
            var graph = await FetchOwnGraphAsync(session.Endpoint.Rest, cancellationToken).ConfigureAwait(false);
            if (graph.CurrentDeviceKey(deviceId) is null)
            {
                throw new ArgumentException($"{SelfId} has no active device '{deviceId}'.", nameof(deviceId));
            }

            var operation = HistoryOperations.RevokeDevice(graph, session.Key, deviceId, _time.GetUtcNow());
            await AppendAsync(graph, operation, "revoke device " + deviceId, session.Key, newKey: null, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _keyLock.Release();
        }
    }

    /// <summary>
    /// Takes an identity back with its recovery key, when its devices are lost: one operation signed by the recovery key
    /// revokes it and with it every key of the identity, and adds a new key for this device and a new recovery key
    /// (see <see cref="ExportRecoveryKey"/>). Every other device stops working. The device then starts like a new one.
    /// </summary>
    /// <param name="options">Where the network is and where to keep the device (an empty folder, or this identity's old device folder).</param>
    /// <param name="selfId">The identity to recover.</param>
    /// <param name="recoveryKey">Its recovery key, <c>kid:seed</c>, as <see cref="ExportRecoveryKey"/> gave it.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="RecoveryFailedException">The key is not the identity's active recovery key, or the network refused the operation.</exception>
    public static async Task<SelfDevice> RecoverAsync(SelfDeviceOptions options, string selfId, string recoveryKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!SelfIds.IsUserId(selfId))
        {
            throw new ArgumentException($"'{selfId}' is not a Self ID.", nameof(selfId));
        }

        ArgumentException.ThrowIfNullOrEmpty(recoveryKey);
        var recovery = ParseKey(recoveryKey, nameof(recoveryKey));
        var vault = new DeviceVault(options.StorageDirectory, options.StorageKey);
        var previous = await vault.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (previous is not null && previous.SelfId != selfId)
        {
            throw new DeviceAlreadyExistsException(vault.Directory);
        }

        var deviceId = options.DeviceId ?? previous?.DeviceId ?? SelfDeviceOptions.DefaultDeviceId;
        var device = new SelfDevice(
            options, vault, new VaultContents { SelfId = selfId, DeviceId = deviceId, DeviceKey = recovery.ToSecret() }, http: null);
        try
        {
            // The recovery key is still a valid key of the identity: it signs the calls until the operation is in force.
            var rest = device.RestFor(recovery);
            SignatureGraph graph;
            try
            {
                graph = await FetchOwnGraphAsync(rest, cancellationToken).ConfigureAwait(false);
            }
            catch (SelfApiException ex) when (ex.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.NotFound)
            {
                throw new RecoveryFailedException(selfId, $"the network refused the recovery key ({ex.Message})", ex);
            }

            if (graph.ActiveRecoveryKey?.Kid != recovery.Kid)
            {
                throw new RecoveryFailedException(selfId, "this is not the identity's active recovery key.");
            }

            var newDeviceKey = SigningKey.Generate();
            var newRecoveryKey = SigningKey.Generate();
            var operation = HistoryOperations.Recover(graph, recovery, newDeviceKey, deviceId, newRecoveryKey, options.TimeProvider.GetUtcNow());
            var contents = new VaultContents
            {
                SelfId = selfId,
                DeviceId = deviceId,
                DeviceKey = newDeviceKey.ToSecret(),
                RecoveryKey = newRecoveryKey.ToSecret(),
            };

            // Kept before the network sees the operation: once it is in, the old recovery key is spent.
            await vault.WriteAsync(contents, cancellationToken).ConfigureAwait(false);
            if (await device.TryAppendAsync(graph, operation, "recover", recovery, newDeviceKey, CancellationToken.None).ConfigureAwait(false)
                is { } failure)
            {
                if (!failure.CertainlyRefused)
                {
                    // The new keys stay in the vault: OpenAsync tells whether the network took them.
                    failure.Error.Throw();
                }

                if (previous is null)
                {
                    vault.Delete();
                }
                else
                {
                    await vault.WriteAsync(previous, CancellationToken.None).ConfigureAwait(false);
                }

                throw new RecoveryFailedException(selfId, $"the network refused the recovery operation ({failure.Error.SourceException.Message})", failure.Error.SourceException);
            }

            await device.WaitUntilInForceAsync(graph.Append(operation)).ConfigureAwait(false);

            Volatile.Write(ref device._contents, contents);
            await device.ClearStaleOneTimeKeysAsync(device.RestFor(newDeviceKey), deviceId, CancellationToken.None).ConfigureAwait(false);
            await device.StartOrDisposeAsync(newDeviceKey, cancellationToken).ConfigureAwait(false);
            return device;
        }
        catch
        {
            await device.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Appends the operation and waits until it is in force; throws what the network said when it did not take it.</summary>
    private async Task AppendAsync(
        SignatureGraph graph, FlattenedJws operation, string what, SigningKey signer, SigningKey? newKey, CancellationToken cancellationToken)
    {
        if (await TryAppendAsync(graph, operation, what, signer, newKey, cancellationToken).ConfigureAwait(false) is { } failure)
        {
            failure.Error.Throw();
        }

        await WaitUntilInForceAsync(graph.Append(operation)).ConfigureAwait(false);
    }

    /// <summary>
    /// Posts the operation; null once it is in the history. When the call fails, the network is asked whether the
    /// operation is in the history anyway (an answer lost on the way back, then a retry refused as out of sequence).
    /// </summary>
    private async Task<AppendFailure?> TryAppendAsync(
        SignatureGraph graph, FlattenedJws operation, string what, SigningKey signer, SigningKey? newKey, CancellationToken cancellationToken)
    {
        var after = graph.Append(operation);
        try
        {
            await RestFor(signer).AppendHistoryAsync(operation, cancellationToken).ConfigureAwait(false);
        }
        catch (SelfException ex)
        {
            var landed = await LandedAsync(operation, signer, newKey).ConfigureAwait(false);
            if (landed != true)
            {
                return new AppendFailure(ExceptionDispatchInfo.Capture(ex), CertainlyRefused: landed == false);
            }
        }

        Log.HistoryOperation(_logger, SelfId, what, after.NextSequence - 1);
        return null;
    }

    /// <summary>Whether the network's history holds <paramref name="operation"/>; null when that cannot be found out now.</summary>
    private async Task<bool?> LandedAsync(FlattenedJws operation, SigningKey signer, SigningKey? newKey)
    {
        foreach (var key in newKey is null ? [signer] : new[] { signer, newKey })
        {
            try
            {
                var history = await FetchOwnGraphAsync(RestFor(key), CancellationToken.None).ConfigureAwait(false);
                return history.Operations.Any(o => o.Signature == operation.Signature);
            }
            catch (SelfApiException ex) when (ex.StatusCode == HttpStatusCode.Unauthorized)
            {
                // Revoked by the operation itself, or not in force yet: the other key may tell.
            }
            catch (SelfException)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>Waits until the last operation's timestamp has come, so the keys it adds are valid and those it revokes are not.</summary>
    private async Task WaitUntilInForceAsync(SignatureGraph after)
    {
        var inForce = DateTimeOffset.FromUnixTimeSeconds(after.LastTimestamp);
        while (_time.GetUtcNow() < inForce)
        {
            // Timers round to whole milliseconds and the network compares to the millisecond: a little margin.
            await Task.Delay(inForce - _time.GetUtcNow() + InForceMargin, _time).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// After a device's key changed, the network may still hold one-time keys of the device's previous Olm account, which
    /// the new account cannot use: deactivating and re-registering the device drops them (the new ones are published
    /// when the endpoint starts).
    /// </summary>
    private async Task ClearStaleOneTimeKeysAsync(SelfRestClient rest, string deviceId, CancellationToken cancellationToken)
    {
        try
        {
            await rest.DeleteDeviceAsync(deviceId, cancellationToken).ConfigureAwait(false);
        }
        catch (SelfApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            // Not active: nothing held.
        }

        await rest.RegisterDeviceAsync(deviceId, Options.Platform, cancellationToken).ConfigureAwait(false);
    }

    private static string FreeDeviceId(SignatureGraph graph)
    {
        var used = graph.Keys.Where(k => k.DeviceId is not null).Select(k => k.DeviceId!).ToHashSet(StringComparer.Ordinal);
        for (var n = 2; ; n++)
        {
            var candidate = n.ToString(CultureInfo.InvariantCulture);
            if (!used.Contains(candidate))
            {
                return candidate;
            }
        }
    }

    private sealed record AppendFailure(ExceptionDispatchInfo Error, bool CertainlyRefused);
}
