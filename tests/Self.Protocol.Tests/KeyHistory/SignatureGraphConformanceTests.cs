using System.Text.Json;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;
using Self.Testing;

namespace Self.Protocol.Tests.KeyHistory;

/// <summary>The 22 key-history vectors of shared/conformance/siggraph, against expected.json.</summary>
public class SignatureGraphConformanceTests
{
    /// <summary>
    /// Each refused vector's expected reason (from expected.json) as our reason code, and the index of the
    /// operation that breaks the rule. Two notes on the vectors:
    /// invalid_operation_signature's root operation already carries a bad signature (verified independently), so
    /// the history fails at operation 0 with the same code as invalid_operation_signature_root;
    /// invalid_revocation_before_root_operation_timestamp is refused because the operation's own revocation leaves
    /// its signer revoked before the operation, which we report apart from a signer revoked earlier.
    /// </summary>
    public static readonly Dictionary<string, (HistoryRejection Reason, int Sequence)> InvalidReasons = new()
    {
        ["invalid_sequence_ordering"] = (HistoryRejection.SequenceOutOfOrder, 1),
        ["invalid_timestamp"] = (HistoryRejection.TimestampNotIncreasing, 1),
        ["invalid_previous_signature"] = (HistoryRejection.PreviousSignatureMismatch, 1),
        ["invalid_duplicate_key_identifier"] = (HistoryRejection.DuplicateKeyId, 1),
        ["invalid_no_active_keys"] = (HistoryRejection.NoActiveKeys, 1),
        ["invalid_no_active_recovery_keys"] = (HistoryRejection.NoActiveRecoveryKey, 1),
        ["invalid_multiple_recovery_keys"] = (HistoryRejection.MultipleActiveRecoveryKeys, 1),
        ["invalid_multiple_device_keys"] = (HistoryRejection.MultipleActiveDeviceKeys, 1),
        ["invalid_revoked_key_creation"] = (HistoryRejection.SigningKeyRevoked, 2),
        ["invalid_signing_key"] = (HistoryRejection.UnknownSigningKey, 1),
        ["invalid_recovery_no_revoke"] = (HistoryRejection.RecoveryWithoutRevocation, 1),
        ["invalid_empty_actions"] = (HistoryRejection.EmptyActions, 1),
        ["invalid_already_revoked_key"] = (HistoryRejection.KeyAlreadyRevoked, 2),
        ["invalid_key_reference"] = (HistoryRejection.UnknownKey, 1),
        ["invalid_root_operation_key_revocation"] = (HistoryRejection.RootRevokesKey, 0),
        ["invalid_operation_signature"] = (HistoryRejection.InvalidSignature, 0),
        ["invalid_operation_signature_root"] = (HistoryRejection.InvalidSignature, 0),
        ["invalid_revocation_before_root_operation_timestamp"] = (HistoryRejection.SigningKeyRevokedByOperation, 1),
        ["invalid_operation_version"] = (HistoryRejection.InvalidVersion, 0),
    };

    public static TheoryData<string> ValidVectors() => [.. ValidNames()];

    public static TheoryData<string> InvalidVectors() => [.. InvalidNames()];

    public static TheoryData<string> InvalidVectorsFailingAfterRoot() => [.. InvalidNames().Where(n => InvalidReasons[n].Sequence > 0)];

    [Fact]
    public void Vectors_EveryFile_IsListedInExpectedAndHereOnce()
    {
        var files = Directory.GetFiles(Conformance.Path("siggraph"), "*.json")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(n => n != "expected")
            .Order(StringComparer.Ordinal)
            .ToArray();
        var listed = ValidNames().Concat(InvalidNames()).Order(StringComparer.Ordinal).ToArray();

        Assert.Equal(22, files.Length);
        Assert.Equal(files, listed);
        Assert.Equal(
            InvalidNames().Order(StringComparer.Ordinal),
            InvalidReasons.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(ValidVectors))]
    public void Load_ValidVector_GivesExactlyTheExpectedKeys(string name)
    {
        var graph = SignatureGraph.Load(Operations(name));

        var expected = Expected().GetProperty("valid").GetProperty(name).EnumerateArray().Select(k => (
            Kid: k.GetProperty("kid").GetString(),
            Did: k.GetProperty("did").ValueKind == JsonValueKind.Null ? null : k.GetProperty("did").GetString(),
            Type: k.GetProperty("type").GetString(),
            Created: k.GetProperty("created").GetInt64(),
            Revoked: k.GetProperty("revoked").GetInt64())).ToArray();
        var actual = graph.Keys.Select(k => (
            Kid: (string?)k.Kid,
            Did: k.DeviceId,
            Type: (string?)(k.Role == KeyRole.Device ? "device.key" : "recovery.key"),
            k.Created,
            k.Revoked)).ToArray();

        Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(ValidVectors))]
    public void Load_ValidVector_ValidAtFollowsTheRule(string name)
    {
        var graph = SignatureGraph.Load(Operations(name));
        foreach (var key in graph.Keys)
        {
            Assert.False(graph.IsValidAt(key.Kid, key.Created - 1));
            Assert.Equal(key.Revoked == 0 || key.Created < key.Revoked, graph.IsValidAt(key.Kid, key.Created));
            if (key.Revoked != 0)
            {
                Assert.False(graph.IsValidAt(key.Kid, key.Revoked));
                Assert.Equal(key.Created <= key.Revoked - 1, graph.IsValidAt(key.Kid, key.Revoked - 1));
            }
            else
            {
                Assert.True(graph.IsValidAt(key.Kid, long.MaxValue / 2000));
            }
        }
    }

    [Theory]
    [MemberData(nameof(InvalidVectors))]
    public void Load_InvalidVector_IsRefusedForTheExpectedReason(string name)
    {
        var (reason, sequence) = InvalidReasons[name];
        var operations = Operations(name);

        var ex = Assert.Throws<HistoryValidationException>(() => SignatureGraph.Load(operations));

        Assert.Equal(reason, ex.Reason);
        Assert.Equal(sequence, ex.Sequence);
        Assert.Equal(HistoryValidationException.CodeOf(reason), ex.ErrorCode);
    }

    [Theory]
    [MemberData(nameof(InvalidVectorsFailingAfterRoot))]
    public void Append_InvalidVectorLastStep_IsRefusedAndLeavesGraphUnchanged(string name)
    {
        var (reason, sequence) = InvalidReasons[name];
        var operations = Operations(name);
        var graph = SignatureGraph.Load(operations.Take(sequence));
        var keysBefore = graph.Keys.ToArray();

        var ex = Assert.Throws<HistoryValidationException>(() => graph.Append(operations[sequence]));

        Assert.Equal(reason, ex.Reason);
        Assert.Equal(sequence, graph.NextSequence);
        Assert.Equal(keysBefore, graph.Keys);
    }

    [Fact]
    public void Append_ValidVectorOneByOne_GivesSameKeysAsLoad()
    {
        var operations = Operations("valid_multi_entry_with_recovery");
        var graph = SignatureGraph.Load(operations.Take(1));
        foreach (var operation in operations.Skip(1))
        {
            graph = graph.Append(operation);
        }

        var loaded = SignatureGraph.Load(operations);
        Assert.Equal(
            loaded.Keys.Select(k => (k.Kid, k.Created, k.Revoked)),
            graph.Keys.Select(k => (k.Kid, k.Created, k.Revoked)));
        Assert.Equal(operations.Count, graph.NextSequence);
        Assert.Equal(operations[^1].Signature, graph.LastSignature);
    }

    [Fact]
    public void Queries_MultiEntryWithRecovery_AnswerFromActiveKeys()
    {
        var graph = SignatureGraph.Load(Operations("valid_multi_entry_with_recovery"));

        Assert.Equal(["device-1"], graph.ActiveDeviceIds);
        Assert.Equal("6", graph.CurrentDeviceKey("device-1")!.Kid);
        Assert.Null(graph.CurrentDeviceKey("device-2"));
        Assert.Equal("7", graph.ActiveRecoveryKey!.Kid);
        Assert.Equal("2", graph.FindKey("2")!.Kid);
        Assert.Null(graph.FindKey("99"));
        Assert.Equal(1598356713, graph.LastTimestamp);
    }

    [Fact]
    public void Queries_MultiEntry_ListsActiveDevices()
    {
        var graph = SignatureGraph.Load(Operations("valid_multi_entry"));
        Assert.Equal(["device-1", "device-3", "device-4", "device-2"], graph.ActiveDeviceIds);
        Assert.Equal("5", graph.CurrentDeviceKey("device-2")!.Kid);
    }

    [Fact]
    public void LoadJson_VectorText_LoadsLikeLoad()
    {
        var graph = SignatureGraph.LoadJson(Conformance.ReadText("siggraph", "valid_multi_entry.json"));
        Assert.Equal(6, graph.Keys.Count);
    }

    internal static List<FlattenedJws> Operations(string name)
    {
        using var doc = JsonDocument.Parse(Conformance.ReadText("siggraph", name + ".json"));
        return doc.RootElement.EnumerateArray().Select(FlattenedJws.FromJsonElement).ToList();
    }

    private static string[] ValidNames() => [.. Expected().GetProperty("valid").EnumerateObject().Select(p => p.Name)];

    private static string[] InvalidNames() => [.. Expected().GetProperty("invalid").EnumerateObject().Select(p => p.Name)];

    private static JsonElement Expected()
    {
        using var doc = JsonDocument.Parse(Conformance.ReadText("siggraph", "expected.json"));
        return doc.RootElement.Clone();
    }
}
