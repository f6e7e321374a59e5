using System.Text.Json;
using Self.Protocol.Encoding;
using Self.Protocol.Jws;
using Self.Protocol.Keys;

namespace Self.Protocol.KeyHistory;

/// <summary>One action of an operation, decoded. Times are in milliseconds (see <see cref="UnixTimestamps"/>).</summary>
internal sealed record ParsedAction(string Kid, string? DeviceId, KeyRole Role, bool IsAdd, long FromMs, byte[]? PublicKey);

/// <summary>An operation's claims, decoded and checked for shape (not yet against a graph).</summary>
internal sealed record ParsedOperation(int Sequence, string Previous, long TimestampMs, IReadOnlyList<ParsedAction> Actions)
{
    private const int MaxDepth = 8;

    public static ParsedOperation Parse(FlattenedJws jws, int position)
    {
        try
        {
            using var document = StrictJson.Parse(jws.PayloadBytes, MaxDepth);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Fail(HistoryRejection.MalformedOperation, position, "The operation's payload is not a JSON object.");
            }

            if (!root.TryGetProperty("version", out var version)
                || version.ValueKind != JsonValueKind.String
                || !string.Equals(version.GetString(), HistoryWire.Version, StringComparison.Ordinal))
            {
                throw Fail(HistoryRejection.InvalidVersion, position, $"The operation's version is not '{HistoryWire.Version}'.");
            }

            if (!root.TryGetProperty("actions", out var actions)
                || actions.ValueKind == JsonValueKind.Null
                || (actions.ValueKind == JsonValueKind.Array && actions.GetArrayLength() == 0))
            {
                throw Fail(HistoryRejection.EmptyActions, position, "The operation has no actions.");
            }

            if (actions.ValueKind != JsonValueKind.Array)
            {
                throw Fail(HistoryRejection.MalformedOperation, position, "The operation's 'actions' is not an array.");
            }

            if (!root.TryGetProperty("sequence", out var sequenceValue)
                || sequenceValue.ValueKind != JsonValueKind.Number
                || !sequenceValue.TryGetInt32(out var sequence)
                || sequence < 0)
            {
                throw Fail(HistoryRejection.MalformedOperation, position, "The operation's 'sequence' is not a non-negative integer.");
            }

            if (!root.TryGetProperty("previous", out var previous) || previous.ValueKind != JsonValueKind.String)
            {
                throw Fail(HistoryRejection.MalformedOperation, position, "The operation's 'previous' is not a string.");
            }

            var timestamp = ReadTime(root, "timestamp")
                ?? throw Fail(HistoryRejection.MalformedOperation, position, "The operation's 'timestamp' is not a positive integer.");

            var parsed = new List<ParsedAction>(actions.GetArrayLength());
            foreach (var action in actions.EnumerateArray())
            {
                parsed.Add(ParseAction(action, timestamp, position));
            }

            return new ParsedOperation(sequence, previous.GetString()!, timestamp, parsed);
        }
        catch (JsonException ex)
        {
            throw new HistoryValidationException(HistoryRejection.MalformedOperation, position, "The operation's payload is not valid JSON.", ex);
        }
    }

    private static ParsedAction ParseAction(JsonElement action, long timestampMs, int position)
    {
        if (action.ValueKind != JsonValueKind.Object)
        {
            throw Fail(HistoryRejection.InvalidAction, position, "An action is not a JSON object.");
        }

        var kid = String(action, "kid");
        if (string.IsNullOrEmpty(kid))
        {
            throw Fail(HistoryRejection.InvalidAction, position, "An action has no 'kid'.");
        }

        KeyRole role = String(action, "type") switch
        {
            HistoryWire.DeviceKey => KeyRole.Device,
            HistoryWire.RecoveryKey => KeyRole.Recovery,
            _ => throw Fail(HistoryRejection.InvalidAction, position, $"The action on key '{kid}' has no valid 'type' (device.key or recovery.key)."),
        };

        var isAdd = String(action, "action") switch
        {
            HistoryWire.KeyAdd => true,
            HistoryWire.KeyRevoke => false,
            _ => throw Fail(HistoryRejection.InvalidAction, position, $"The action on key '{kid}' is neither key.add nor key.revoke."),
        };

        var hasFrom = action.TryGetProperty("from", out var fromValue) && fromValue.ValueKind != JsonValueKind.Null;
        var from = ReadTime(action, "from");
        if ((hasFrom && from is null) || (!isAdd && from is null))
        {
            throw Fail(HistoryRejection.InvalidAction, position, $"The action on key '{kid}' has no valid 'from' time.");
        }

        if (!isAdd)
        {
            return new ParsedAction(kid, null, role, IsAdd: false, from!.Value, null);
        }

        string? deviceId = null;
        if (role == KeyRole.Device)
        {
            deviceId = String(action, "did");
            if (string.IsNullOrEmpty(deviceId))
            {
                throw Fail(HistoryRejection.InvalidAction, position, $"The device key '{kid}' has no 'did'.");
            }
        }

        if (!Base64Codec.TryDecode(String(action, "key"), out var publicKey) || publicKey.Length != Ed25519Verifier.PublicKeySize)
        {
            throw Fail(HistoryRejection.InvalidAction, position, $"The key '{kid}' is not a b64url 32-byte Ed25519 public key.");
        }

        // A key exists from the operation that adds it, whatever its 'from' says (as the gen-1 SDKs read it).
        return new ParsedAction(kid, deviceId, role, IsAdd: true, timestampMs, publicKey);
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long? ReadTime(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Number)
        {
            return null;
        }

        if (!value.TryGetInt64(out var number))
        {
            if (!value.TryGetDouble(out var real) || !double.IsFinite(real) || real < 1 || real > long.MaxValue / 1000)
            {
                return null;
            }

            number = (long)Math.Floor(real);
        }

        return number is > 0 and < long.MaxValue / 1000 ? UnixTimestamps.ToMilliseconds(number) : null;
    }

    private static HistoryValidationException Fail(HistoryRejection reason, int position, string message) =>
        new(reason, position, $"Operation {position}: {message}");
}
