using System.Buffers;
using System.Text.Json;
using Self.Protocol.Encoding;
using Self.Protocol.Identifiers;
using Self.Protocol.Jws;
using Self.Protocol.Keys;

namespace Self.Protocol.KeyHistory;

/// <summary>
/// Builds signed key-history operations (spec §3). Every operation is validated against the history before it is
/// returned, so what comes back is accepted by <see cref="SignatureGraph.Append"/> (and by the server). An
/// operation's timestamp is the given time in unix seconds, moved one second past the last
/// operation when the clock has not advanced that far.
/// </summary>
public static class HistoryOperations
{
    /// <summary>
    /// The root operation of a new identity: adds the device key for <paramref name="deviceId"/> and the recovery
    /// key, signed by the device key.
    /// </summary>
    /// <exception cref="ArgumentException">The device id is not valid or both keys share a kid.</exception>
    public static FlattenedJws CreateIdentity(SigningKey deviceKey, string deviceId, SigningKey recoveryKey, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(deviceKey);
        ArgumentNullException.ThrowIfNull(recoveryKey);
        CheckDeviceId(deviceId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timestamp.ToUnixTimeSeconds(), 0, nameof(timestamp));
        if (string.Equals(deviceKey.Kid, recoveryKey.Kid, StringComparison.Ordinal))
        {
            throw new ArgumentException("The device key and the recovery key need different kids.", nameof(recoveryKey));
        }

        var seconds = timestamp.ToUnixTimeSeconds();
        var operation = Build(0, HistoryWire.RootPrevious, seconds, deviceKey,
        [
            Add(deviceKey.Kid, deviceId, KeyRole.Device, deviceKey.PublicKey, seconds),
            Add(recoveryKey.Kid, null, KeyRole.Recovery, recoveryKey.PublicKey, seconds),
        ]);
        SignatureGraph.Load([operation]);
        return operation;
    }

    /// <summary>Adds a device's key, signed by an active device key of the identity.</summary>
    public static FlattenedJws AddDevice(SignatureGraph graph, SigningKey signer, SigningKey newKey, string deviceId, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(newKey);
        return AddDevice(graph, signer, newKey.Kid, newKey.PublicKey, deviceId, timestamp);
    }

    /// <summary>Adds a device's key known only by its kid and public half (the new device keeps its seed).</summary>
    /// <exception cref="ArgumentException">The device id or public key is not valid.</exception>
    /// <exception cref="HistoryValidationException">The history would refuse the operation (e.g. the device already
    /// has an active key, or the kid exists).</exception>
    public static FlattenedJws AddDevice(SignatureGraph graph, SigningKey signer, string newKid, ReadOnlySpan<byte> newPublicKey, string deviceId, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentException.ThrowIfNullOrEmpty(newKid);
        CheckDeviceId(deviceId);
        CheckPublicKey(newPublicKey, nameof(newPublicKey));
        var seconds = NextTimestamp(graph, timestamp);
        return BuildChecked(graph, signer, seconds, [Add(newKid, deviceId, KeyRole.Device, newPublicKey.ToArray(), seconds)]);
    }

    /// <summary>
    /// Replaces a device's key: revokes its current key from now and adds <paramref name="newKey"/> for the same
    /// device. The signer may be the device's old key itself or another active device key.
    /// </summary>
    /// <exception cref="ArgumentException">The device has no active key.</exception>
    public static FlattenedJws RotateDeviceKey(SignatureGraph graph, SigningKey signer, string deviceId, SigningKey newKey, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(newKey);
        return RotateDeviceKey(graph, signer, deviceId, newKey.Kid, newKey.PublicKey, timestamp);
    }

    /// <summary>Replaces a device's key with one known only by its kid and public half.</summary>
    /// <exception cref="ArgumentException">The device has no active key.</exception>
    public static FlattenedJws RotateDeviceKey(SignatureGraph graph, SigningKey signer, string deviceId, string newKid, ReadOnlySpan<byte> newPublicKey, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentException.ThrowIfNullOrEmpty(newKid);
        CheckDeviceId(deviceId);
        CheckPublicKey(newPublicKey, nameof(newPublicKey));
        var current = graph.CurrentDeviceKey(deviceId)
            ?? throw new ArgumentException($"Device '{deviceId}' has no active key to rotate.", nameof(deviceId));
        var seconds = NextTimestamp(graph, timestamp);
        return BuildChecked(graph, signer, seconds,
        [
            Revoke(current.Kid, KeyRole.Device, seconds),
            Add(newKid, deviceId, KeyRole.Device, newPublicKey.ToArray(), seconds),
        ]);
    }

    /// <summary>Revokes a device's current key from now (the device can no longer sign or receive).</summary>
    /// <exception cref="ArgumentException">The device has no active key.</exception>
    public static FlattenedJws RevokeDevice(SignatureGraph graph, SigningKey signer, string deviceId, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentNullException.ThrowIfNull(deviceId);
        var current = graph.CurrentDeviceKey(deviceId)
            ?? throw new ArgumentException($"Device '{deviceId}' has no active key to revoke.", nameof(deviceId));
        var seconds = NextTimestamp(graph, timestamp);
        return BuildChecked(graph, signer, seconds, [Revoke(current.Kid, KeyRole.Device, seconds)]);
    }

    /// <summary>
    /// Recovers an identity with its recovery key: revokes the recovery key (and with it every existing key) and adds
    /// a new device key and a new recovery key, signed by the old recovery key.
    /// </summary>
    /// <exception cref="ArgumentException">The signer is not the active recovery key, or the device id is not valid.</exception>
    public static FlattenedJws Recover(SignatureGraph graph, SigningKey recoveryKey, SigningKey newDeviceKey, string deviceId, SigningKey newRecoveryKey, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(recoveryKey);
        ArgumentNullException.ThrowIfNull(newDeviceKey);
        ArgumentNullException.ThrowIfNull(newRecoveryKey);
        CheckDeviceId(deviceId);
        if (graph.ActiveRecoveryKey is not { } active || !string.Equals(active.Kid, recoveryKey.Kid, StringComparison.Ordinal))
        {
            throw new ArgumentException("The signer is not the identity's active recovery key.", nameof(recoveryKey));
        }

        var seconds = NextTimestamp(graph, timestamp);
        return BuildChecked(graph, recoveryKey, seconds,
        [
            Revoke(recoveryKey.Kid, KeyRole.Recovery, seconds),
            Add(newDeviceKey.Kid, deviceId, KeyRole.Device, newDeviceKey.PublicKey, seconds),
            Add(newRecoveryKey.Kid, null, KeyRole.Recovery, newRecoveryKey.PublicKey, seconds),
        ]);
    }

    private static FlattenedJws BuildChecked(SignatureGraph graph, SigningKey signer, long seconds, ActionSpec[] actions)
    {
        var operation = Build(graph.NextSequence, graph.LastSignature, seconds, signer, actions);
        graph.Append(operation);
        return operation;
    }

    private static long NextTimestamp(SignatureGraph graph, DateTimeOffset timestamp) =>
        Math.Max(timestamp.ToUnixTimeSeconds(), graph.LastTimestamp + 1);

    private static FlattenedJws Build(int sequence, string previous, long timestamp, SigningKey signer, ActionSpec[] actions)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("sequence", sequence);
            writer.WriteString("previous", previous);
            writer.WriteString("version", HistoryWire.Version);
            writer.WriteNumber("timestamp", timestamp);
            writer.WriteStartArray("actions");
            foreach (var action in actions)
            {
                writer.WriteStartObject();
                writer.WriteString("kid", action.Kid);
                if (action.DeviceId is not null)
                {
                    writer.WriteString("did", action.DeviceId);
                }

                writer.WriteString("type", action.Role == KeyRole.Device ? HistoryWire.DeviceKey : HistoryWire.RecoveryKey);
                writer.WriteString("action", action.PublicKey is null ? HistoryWire.KeyRevoke : HistoryWire.KeyAdd);
                writer.WriteNumber("from", action.From);
                if (action.PublicKey is not null)
                {
                    writer.WriteString("key", Base64Codec.EncodeUrl(action.PublicKey));
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        // Operations carry no 'typ', like the gen-1 histories.
        return FlattenedJws.Sign(buffer.WrittenSpan, signer, typ: null);
    }

    private static ActionSpec Add(string kid, string? deviceId, KeyRole role, byte[] publicKey, long from) => new(kid, deviceId, role, from, publicKey);

    private static ActionSpec Revoke(string kid, KeyRole role, long from) => new(kid, null, role, from, null);

    private static void CheckDeviceId(string deviceId)
    {
        ArgumentNullException.ThrowIfNull(deviceId);
        if (!SelfIds.IsDeviceId(deviceId))
        {
            throw new ArgumentException("A device id is 1-64 characters of [A-Za-z0-9_.-].", nameof(deviceId));
        }
    }

    private static void CheckPublicKey(ReadOnlySpan<byte> publicKey, string name)
    {
        if (publicKey.Length != Ed25519Verifier.PublicKeySize)
        {
            throw new ArgumentException("An Ed25519 public key is 32 bytes.", name);
        }
    }

    private sealed record ActionSpec(string Kid, string? DeviceId, KeyRole Role, long From, byte[]? PublicKey);
}
