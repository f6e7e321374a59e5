using System.Text.Json;
using Self.Protocol.Jws;

namespace Self.Protocol.KeyHistory;

/// <summary>
/// An identity's key history (spec §3), validated: an append-only chain of signed operations that add and revoke
/// device keys and the recovery key. Instances are immutable; <see cref="Append"/> returns a new graph.
/// Keys are always looked up by kid; a kid says nothing about the device it belongs to.
/// </summary>
public sealed class SignatureGraph
{
    private readonly State _state;
    private readonly IReadOnlyList<HistoryKey> _keys;
    private readonly IReadOnlyList<FlattenedJws> _operations;

    private SignatureGraph(State state)
    {
        _state = state;
        _keys = Array.AsReadOnly(state.Order.Select(node => node.ToHistoryKey()).ToArray());
        _operations = state.Operations.AsReadOnly();
    }

    /// <summary>The operations, oldest first.</summary>
    public IReadOnlyList<FlattenedJws> Operations => _operations;

    /// <summary>Every key ever added, in the order they were added.</summary>
    public IReadOnlyList<HistoryKey> Keys => _keys;

    /// <summary>The ids of the devices that have an active key, in the order their keys were added.</summary>
    public IReadOnlyList<string> ActiveDeviceIds =>
        _keys.Where(k => k is { Role: KeyRole.Device, IsActive: true }).Select(k => k.DeviceId!).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>The active recovery key (a valid history always has exactly one).</summary>
    public HistoryKey? ActiveRecoveryKey => _keys.FirstOrDefault(k => k is { Role: KeyRole.Recovery, IsActive: true });

    /// <summary>The <c>sequence</c> the next operation must carry.</summary>
    public int NextSequence => _state.Operations.Count;

    /// <summary>The last operation's signature: the <c>previous</c> of the next operation.</summary>
    public string LastSignature => _state.Operations[^1].Signature;

    /// <summary>The last operation's timestamp in unix seconds; the next operation must be later.</summary>
    public long LastTimestamp => UnixTimestamps.ToSeconds(_state.LastTimestampMs);

    /// <summary>Validates a whole history, oldest operation first.</summary>
    /// <exception cref="HistoryValidationException">The history breaks a rule; <see cref="HistoryValidationException.Reason"/> says which.</exception>
    public static SignatureGraph Load(IEnumerable<FlattenedJws> operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        var state = new State();
        foreach (var operation in operations)
        {
            Apply(state, operation ?? throw new ArgumentException("A history cannot contain null operations.", nameof(operations)));
        }

        return state.Operations.Count == 0
            ? throw new HistoryValidationException(HistoryRejection.EmptyHistory, null, "The history holds no operations.")
            : new SignatureGraph(state);
    }

    /// <summary>Validates a history given as its JSON array of flattened JWS operations (as served by the REST API).</summary>
    /// <exception cref="HistoryValidationException">The JSON is not such an array, or the history breaks a rule.</exception>
    public static SignatureGraph LoadJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = Encoding.StrictJson.Parse(json, 16);
        }
        catch (JsonException ex)
        {
            throw new HistoryValidationException(HistoryRejection.MalformedOperation, null, "The history is not valid JSON.", ex);
        }

        using (document)
        {
            return LoadJson(document.RootElement);
        }
    }

    /// <summary>Validates a history given as a JSON array of flattened JWS operations.</summary>
    /// <exception cref="HistoryValidationException">The value is not such an array, or the history breaks a rule.</exception>
    public static SignatureGraph LoadJson(JsonElement history)
    {
        if (history.ValueKind != JsonValueKind.Array)
        {
            throw new HistoryValidationException(HistoryRejection.MalformedOperation, null, "A history is a JSON array of operations.");
        }

        var operations = new List<FlattenedJws>(history.GetArrayLength());
        foreach (var element in history.EnumerateArray())
        {
            operations.Add(ReadOperation(element, operations.Count));
        }

        return Load(operations);
    }

    /// <summary>Reads one operation from JSON (the body of <c>POST /history</c>) without validating it against a graph.</summary>
    /// <exception cref="HistoryValidationException">The JSON is not a flattened JWS.</exception>
    public static FlattenedJws ParseOperation(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return FlattenedJws.Parse(json);
        }
        catch (JwsFormatException ex)
        {
            throw new HistoryValidationException(HistoryRejection.MalformedOperation, null, "The operation is not a flattened JWS: " + ex.Message, ex);
        }
    }

    /// <summary>Validates one more operation against this history and returns the longer history.</summary>
    /// <exception cref="HistoryValidationException">The operation breaks a rule; this graph is unchanged.</exception>
    public SignatureGraph Append(FlattenedJws operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var state = _state.Clone();
        Apply(state, operation);
        return new SignatureGraph(state);
    }

    /// <summary>The key with this kid, or null.</summary>
    public HistoryKey? FindKey(string kid)
    {
        ArgumentNullException.ThrowIfNull(kid);
        return _state.Keys.TryGetValue(kid, out var node) ? _keys[node.Index] : null;
    }

    /// <summary>The device's current key: its active device key, or null when the device has none.</summary>
    public HistoryKey? CurrentDeviceKey(string deviceId)
    {
        ArgumentNullException.ThrowIfNull(deviceId);
        return _keys.FirstOrDefault(k => k is { Role: KeyRole.Device, IsActive: true } && string.Equals(k.DeviceId, deviceId, StringComparison.Ordinal));
    }

    /// <summary>True when the key exists and was valid at <paramref name="unixSeconds"/> (seconds, or milliseconds above 10^11).</summary>
    public bool IsValidAt(string kid, long unixSeconds)
    {
        ArgumentNullException.ThrowIfNull(kid);
        return _state.Keys.TryGetValue(kid, out var node) && node.IsValidAtMs(UnixTimestamps.ToMilliseconds(unixSeconds));
    }

    /// <summary>True when the key exists and was valid at <paramref name="at"/> (to the millisecond).</summary>
    public bool IsValidAt(string kid, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(kid);
        return _state.Keys.TryGetValue(kid, out var node) && node.IsValidAtMs(at.ToUnixTimeMilliseconds());
    }

    /// <summary>
    /// Checks a message signature (spec §3): the header's kid names a device key of this identity that was valid at
    /// <paramref name="at"/> (the message's <c>iat</c>), and the signature verifies with it.
    /// </summary>
    public bool VerifyMessage(FlattenedJws message, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(message);
        return _state.Keys.TryGetValue(message.Header.Kid, out var node)
            && node.Role == KeyRole.Device
            && node.IsValidAtMs(at.ToUnixTimeMilliseconds())
            && message.Verify(node.PublicKey);
    }

    private static FlattenedJws ReadOperation(JsonElement element, int position)
    {
        try
        {
            return FlattenedJws.FromJsonElement(element);
        }
        catch (JwsFormatException ex)
        {
            throw new HistoryValidationException(HistoryRejection.MalformedOperation, position, $"Operation {position} is not a flattened JWS: {ex.Message}", ex);
        }
    }

    private static void Apply(State state, FlattenedJws jws)
    {
        var position = state.Operations.Count;
        var operation = ParsedOperation.Parse(jws, position);
        var timestamp = operation.TimestampMs;

        if (operation.Sequence != position)
        {
            throw Fail(HistoryRejection.SequenceOutOfOrder, position, $"its sequence is {operation.Sequence}, expected {position}.");
        }

        var expectedPrevious = position == 0 ? HistoryWire.RootPrevious : state.Operations[^1].Signature;
        if (!string.Equals(operation.Previous, expectedPrevious, StringComparison.Ordinal))
        {
            throw Fail(HistoryRejection.PreviousSignatureMismatch, position,
                position == 0 ? "the root operation's previous must be '-'." : "its previous is not the previous operation's signature.");
        }

        if (position > 0 && timestamp <= state.LastTimestampMs)
        {
            throw Fail(HistoryRejection.TimestampNotIncreasing, position, "its timestamp is not after the previous operation's.");
        }

        var signerKid = jws.Header.Kid;
        byte[] signerKey;
        KeyRole signerRole;
        if (position == 0)
        {
            var rootAdd = operation.Actions.FirstOrDefault(a => a.IsAdd && string.Equals(a.Kid, signerKid, StringComparison.Ordinal))
                ?? throw Fail(HistoryRejection.UnknownSigningKey, position, $"the root operation is signed by '{signerKid}', a key it does not add.");
            signerKey = rootAdd.PublicKey!;
            signerRole = rootAdd.Role;
        }
        else
        {
            if (!state.Keys.TryGetValue(signerKid, out var signer))
            {
                throw Fail(HistoryRejection.UnknownSigningKey, position, $"it is signed by '{signerKid}', a key the history does not hold.");
            }

            if (!signer.IsValidAtMs(timestamp))
            {
                throw Fail(HistoryRejection.SigningKeyRevoked, position, $"it is signed by '{signerKid}', which was revoked at the operation's timestamp.");
            }

            signerKey = signer.PublicKey;
            signerRole = signer.Role;
        }

        if (!string.Equals(jws.Header.Alg, JwsHeader.EdDsa, StringComparison.Ordinal) || !jws.Verify(signerKey))
        {
            throw Fail(HistoryRejection.InvalidSignature, position, $"its signature does not verify with key '{signerKid}'.");
        }

        var isRecovery = position > 0 && signerRole == KeyRole.Recovery;
        long recoveryFrom = 0;
        if (isRecovery)
        {
            var selfRevocation = operation.Actions.FirstOrDefault(a => !a.IsAdd && string.Equals(a.Kid, signerKid, StringComparison.Ordinal))
                ?? throw Fail(HistoryRejection.RecoveryWithoutRevocation, position, $"it is signed by the recovery key '{signerKid}' but does not revoke it.");
            recoveryFrom = selfRevocation.FromMs;
        }

        var existingBefore = state.Order.Count;
        foreach (var action in operation.Actions)
        {
            if (action.IsAdd)
            {
                AddKey(state, action, position, timestamp, position == 0 && string.Equals(action.Kid, signerKid, StringComparison.Ordinal) ? null : signerKid);
            }
            else
            {
                RevokeKey(state, action, position, existingBefore, cascade: !isRecovery);
            }
        }

        // Linked only now: in the root operation the signer may be listed after the keys it signs in.
        for (var i = existingBefore; i < state.Order.Count; i++)
        {
            if (state.Order[i].SignedBy is { } parent)
            {
                state.Keys[parent].Children.Add(state.Order[i].Kid);
            }
        }

        if (isRecovery)
        {
            // Recovery replaces the whole identity: every key that existed before this operation goes.
            for (var i = 0; i < existingBefore; i++)
            {
                var node = state.Order[i];
                if (node.RevokedMs == 0 || node.RevokedMs > recoveryFrom)
                {
                    node.RevokedMs = recoveryFrom;
                }
            }
        }

        var signerAfter = state.Keys[signerKid];
        if (signerAfter.RevokedMs != 0 && signerAfter.RevokedMs < timestamp)
        {
            throw Fail(HistoryRejection.SigningKeyRevokedByOperation, position, $"it revokes its own signing key '{signerKid}' from before its timestamp.");
        }

        CheckInvariants(state, position);

        state.Operations.Add(jws);
        state.LastTimestampMs = timestamp;
    }

    private static void AddKey(State state, ParsedAction action, int position, long timestampMs, string? signedBy)
    {
        if (state.Keys.ContainsKey(action.Kid))
        {
            throw Fail(HistoryRejection.DuplicateKeyId, position, $"it adds key '{action.Kid}', which already exists.");
        }

        var node = new KeyNode(state.Order.Count, action.Kid, action.DeviceId, action.Role, action.PublicKey!, timestampMs, signedBy);
        state.Keys.Add(node.Kid, node);
        state.Order.Add(node);
    }

    private static void RevokeKey(State state, ParsedAction action, int position, int existingBefore, bool cascade)
    {
        if (position == 0)
        {
            throw Fail(HistoryRejection.RootRevokesKey, position, "the root operation cannot revoke keys.");
        }

        if (!state.Keys.TryGetValue(action.Kid, out var node))
        {
            throw Fail(HistoryRejection.UnknownKey, position, $"it revokes key '{action.Kid}', which does not exist.");
        }

        if (node.RevokedMs != 0)
        {
            throw Fail(HistoryRejection.KeyAlreadyRevoked, position, $"it revokes key '{action.Kid}', which is already revoked.");
        }

        var from = action.FromMs;
        node.RevokedMs = from;
        if (!cascade)
        {
            return;
        }

        // Keys the revoked key signed into the history from the revocation on fall with it, and so on down;
        // keys added by this very operation are signed by its (valid) signer and stay.
        var pending = new Stack<KeyNode>();
        pending.Push(node);
        while (pending.Count > 0)
        {
            foreach (var childKid in pending.Pop().Children)
            {
                var child = state.Keys[childKid];
                if (child.Index < existingBefore && child.CreatedMs >= from && (child.RevokedMs == 0 || child.RevokedMs > from))
                {
                    child.RevokedMs = from;
                    pending.Push(child);
                }
            }
        }
    }

    private static void CheckInvariants(State state, int position)
    {
        if (!state.Order.Any(k => k.RevokedMs == 0))
        {
            throw Fail(HistoryRejection.NoActiveKeys, position, "afterwards no key is active.");
        }

        var recoveryKeys = state.Order.Count(k => k.Role == KeyRole.Recovery && k.RevokedMs == 0);
        if (recoveryKeys == 0)
        {
            throw Fail(HistoryRejection.NoActiveRecoveryKey, position, "afterwards no recovery key is active.");
        }

        if (recoveryKeys > 1)
        {
            throw Fail(HistoryRejection.MultipleActiveRecoveryKeys, position, "afterwards more than one recovery key is active.");
        }

        var crowded = state.Order
            .Where(k => k.Role == KeyRole.Device && k.RevokedMs == 0)
            .GroupBy(k => k.DeviceId, StringComparer.Ordinal)
            .FirstOrDefault(g => g.Count() > 1);
        if (crowded is not null)
        {
            throw Fail(HistoryRejection.MultipleActiveDeviceKeys, position, $"afterwards device '{crowded.Key}' has more than one active key.");
        }
    }

    private static HistoryValidationException Fail(HistoryRejection reason, int position, string message) =>
        new(reason, position, $"Operation {position}: {message}");

    private sealed class State
    {
        public Dictionary<string, KeyNode> Keys { get; } = new(StringComparer.Ordinal);

        public List<KeyNode> Order { get; } = [];

        public List<FlattenedJws> Operations { get; } = [];

        public long LastTimestampMs { get; set; }

        public State Clone()
        {
            var clone = new State { LastTimestampMs = LastTimestampMs };
            clone.Operations.AddRange(Operations);
            foreach (var node in Order)
            {
                var copy = node.Clone();
                clone.Order.Add(copy);
                clone.Keys.Add(copy.Kid, copy);
            }

            return clone;
        }
    }

    private sealed class KeyNode(int index, string kid, string? deviceId, KeyRole role, byte[] publicKey, long createdMs, string? signedBy)
    {
        public int Index { get; } = index;

        public string Kid { get; } = kid;

        public string? DeviceId { get; } = deviceId;

        public KeyRole Role { get; } = role;

        public byte[] PublicKey { get; } = publicKey;

        public long CreatedMs { get; } = createdMs;

        public string? SignedBy { get; } = signedBy;

        public long RevokedMs { get; set; }

        public List<string> Children { get; private init; } = [];

        public bool IsValidAtMs(long atMs) => CreatedMs <= atMs && (RevokedMs == 0 || atMs < RevokedMs);

        public KeyNode Clone() => new(Index, Kid, DeviceId, Role, PublicKey, CreatedMs, SignedBy)
        {
            RevokedMs = RevokedMs,
            Children = [.. Children],
        };

        public HistoryKey ToHistoryKey() => new(
            Kid,
            DeviceId,
            Role,
            (byte[])PublicKey.Clone(),
            UnixTimestamps.ToSeconds(CreatedMs),
            RevokedMs == 0 ? 0 : Math.Max(1, UnixTimestamps.ToSeconds(RevokedMs)));
    }
}
