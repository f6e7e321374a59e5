using Self.Protocol.Encoding;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;

namespace Self.Protocol.Tests.KeyHistory;

/// <summary>Rules of spec §3 beyond the shared vectors, on hand-built operations.</summary>
public class SignatureGraphRulesTests
{
    private const long T = 1_800_000_000;
    private readonly SigningKey _a = SigningKey.Generate("a");
    private readonly SigningKey _b = SigningKey.Generate("b");
    private readonly SigningKey _c = SigningKey.Generate("c");
    private readonly SigningKey _r = SigningKey.Generate("r");

    [Fact]
    public void Load_MillisecondTimestamps_NormalizesToSeconds()
    {
        var root = Op(_a, 0, "-", T * 1000 + 250, AddDevice(_a, "d1", T * 1000), AddRecovery(_r, T * 1000));
        var second = Op(_a, 1, root.Signature, T * 1000 + 750, AddDevice(_b, "d2", T * 1000 + 750));

        var graph = SignatureGraph.Load([root, second]);

        Assert.Equal(T, graph.FindKey("a")!.Created);
        Assert.Equal(T, graph.FindKey("b")!.Created);
        Assert.Equal(T, graph.LastTimestamp);
        Assert.True(graph.IsValidAt("b", T * 1000 + 750));
        Assert.False(graph.IsValidAt("b", T * 1000 + 700));
    }

    [Fact]
    public void Load_MixedSecondsThenMilliseconds_ComparesInOneUnit()
    {
        var root = Op(_a, 0, "-", T, AddDevice(_a, "d1", T), AddRecovery(_r, T));
        var earlierInMs = Op(_a, 1, root.Signature, (T * 1000) - 1, AddDevice(_b, "d2", T));

        var ex = Assert.Throws<HistoryValidationException>(() => SignatureGraph.Load([root, earlierInMs]));
        Assert.Equal(HistoryRejection.TimestampNotIncreasing, ex.Reason);

        var laterInMs = Op(_a, 1, root.Signature, (T * 1000) + 1, AddDevice(_b, "d2", T));
        Assert.Equal(3, SignatureGraph.Load([root, laterInMs]).Keys.Count);
    }

    [Fact]
    public void Load_RootSignerListedAfterTheKeysItAdds_Loads()
    {
        var root = Op(_a, 0, "-", T, AddRecovery(_r, T), AddDevice(_a, "d1", T));
        Assert.Equal("a", SignatureGraph.Load([root]).CurrentDeviceKey("d1")!.Kid);
    }

    [Fact]
    public void Append_RevokeKey_AlsoRevokesKeysItSignedAfterFromTransitively()
    {
        var root = Op(_a, 0, "-", T, AddDevice(_a, "d1", T), AddRecovery(_r, T));
        var addB = Op(_a, 1, root.Signature, T + 10, AddDevice(_b, "d2", T + 10));
        var addC = Op(_b, 2, addB.Signature, T + 20, AddDevice(_c, "d3", T + 20));
        var revokeB = Op(_a, 3, addC.Signature, T + 30, Revoke("b", T + 5));

        var graph = SignatureGraph.Load([root, addB, addC, revokeB]);

        Assert.Equal(T + 5, graph.FindKey("b")!.Revoked);
        Assert.Equal(T + 5, graph.FindKey("c")!.Revoked);
        Assert.True(graph.FindKey("a")!.IsActive);
    }

    [Fact]
    public void Append_RevokeKey_KeepsKeysItSignedBeforeFrom()
    {
        var root = Op(_a, 0, "-", T, AddDevice(_a, "d1", T), AddRecovery(_r, T));
        var addB = Op(_a, 1, root.Signature, T + 10, AddDevice(_b, "d2", T + 10));
        var addC = Op(_b, 2, addB.Signature, T + 20, AddDevice(_c, "d3", T + 20));
        var revokeB = Op(_a, 3, addC.Signature, T + 30, Revoke("b", T + 25));

        var graph = SignatureGraph.Load([root, addB, addC, revokeB]);

        Assert.Equal(T + 25, graph.FindKey("b")!.Revoked);
        Assert.True(graph.FindKey("c")!.IsActive);
    }

    [Fact]
    public void Append_RecoveryListingAddsBeforeRevoke_KeepsTheNewKeys()
    {
        var newDevice = SigningKey.Generate("n");
        var newRecovery = SigningKey.Generate("r2");
        var root = Op(_a, 0, "-", T, AddDevice(_a, "d1", T), AddRecovery(_r, T));
        var recover = Op(_r, 1, root.Signature, T + 10, AddDevice(newDevice, "d1", T + 10), AddRecovery(newRecovery, T + 10), Revoke("r", T + 10, "recovery.key"));

        var graph = SignatureGraph.Load([root, recover]);

        Assert.Equal("n", graph.CurrentDeviceKey("d1")!.Kid);
        Assert.Equal("r2", graph.ActiveRecoveryKey!.Kid);
        Assert.Equal(T + 10, graph.FindKey("a")!.Revoked);
    }

    [Fact]
    public void Load_RootPreviousNotDash_ThrowsPreviousSignatureMismatch()
    {
        var root = Op(_a, 0, "xyz", T, AddDevice(_a, "d1", T), AddRecovery(_r, T));
        Assert.Equal(HistoryRejection.PreviousSignatureMismatch, Assert.Throws<HistoryValidationException>(() => SignatureGraph.Load([root])).Reason);
    }

    [Fact]
    public void Load_RootSignedByKeyItDoesNotAdd_ThrowsUnknownSigningKey()
    {
        var root = Op(_b, 0, "-", T, AddDevice(_a, "d1", T), AddRecovery(_r, T));
        Assert.Equal(HistoryRejection.UnknownSigningKey, Assert.Throws<HistoryValidationException>(() => SignatureGraph.Load([root])).Reason);
    }

    [Fact]
    public void Load_AlgNoneOperation_ThrowsInvalidSignature()
    {
        var good = Op(_a, 0, "-", T, AddDevice(_a, "d1", T), AddRecovery(_r, T));
        var header = Base64Codec.EncodeUrl("{\"alg\":\"none\",\"kid\":\"a\"}"u8);
        var signature = Base64Codec.EncodeUrl(_a.Sign(System.Text.Encoding.ASCII.GetBytes(header + "." + good.Payload)));
        var none = new FlattenedJws(good.Payload, header, signature);

        Assert.Equal(HistoryRejection.InvalidSignature, Assert.Throws<HistoryValidationException>(() => SignatureGraph.Load([none])).Reason);
        Assert.Single(SignatureGraph.Load([good]).Operations);
    }

    [Fact]
    public void Load_Empty_ThrowsEmptyHistory()
    {
        Assert.Equal(HistoryRejection.EmptyHistory, Assert.Throws<HistoryValidationException>(() => SignatureGraph.Load([])).Reason);
    }

    [Theory]
    [InlineData("{\"sequence\":0,\"previous\":\"-\",\"version\":\"1.0.0\",\"timestamp\":1800000000,\"actions\":{}}", HistoryRejection.MalformedOperation)]
    [InlineData("{\"sequence\":\"0\",\"previous\":\"-\",\"version\":\"1.0.0\",\"timestamp\":1800000000,\"actions\":[ACTIONS]}", HistoryRejection.MalformedOperation)]
    [InlineData("{\"sequence\":0,\"previous\":\"-\",\"version\":\"1.0.0\",\"timestamp\":-1,\"actions\":[ACTIONS]}", HistoryRejection.MalformedOperation)]
    [InlineData("{\"sequence\":0,\"version\":\"1.0.0\",\"timestamp\":1800000000,\"actions\":[ACTIONS]}", HistoryRejection.MalformedOperation)]
    [InlineData("{\"sequence\":0,\"previous\":\"-\",\"timestamp\":1800000000,\"actions\":[ACTIONS]}", HistoryRejection.InvalidVersion)]
    [InlineData("{\"sequence\":0,\"previous\":\"-\",\"version\":\"1.0.0\",\"timestamp\":1800000000}", HistoryRejection.EmptyActions)]
    [InlineData("[1]", HistoryRejection.MalformedOperation)]
    [InlineData("{\"sequence\":0,\"previous\":\"-\",\"version\":\"1.0.0\",\"timestamp\":1800000000,\"actions\":[ACTIONS,{\"kid\":\"x\",\"type\":\"device.key\",\"action\":\"key.add\",\"from\":1800000000,\"key\":\"AAAA\",\"did\":\"d9\"}]}", HistoryRejection.InvalidAction)]
    [InlineData("{\"sequence\":0,\"previous\":\"-\",\"version\":\"1.0.0\",\"timestamp\":1800000000,\"actions\":[ACTIONS,{\"kid\":\"x\",\"type\":\"other.key\",\"action\":\"key.add\",\"from\":1800000000,\"key\":\"AAAA\"}]}", HistoryRejection.InvalidAction)]
    [InlineData("{\"sequence\":0,\"previous\":\"-\",\"version\":\"1.0.0\",\"timestamp\":1800000000,\"actions\":[ACTIONS,{\"kid\":\"x\",\"type\":\"device.key\",\"action\":\"key.rotate\",\"from\":1800000000}]}", HistoryRejection.InvalidAction)]
    [InlineData("{\"sequence\":0,\"previous\":\"-\",\"version\":\"1.0.0\",\"timestamp\":1800000000,\"actions\":[ACTIONS,{\"kid\":\"x\",\"type\":\"device.key\",\"action\":\"key.add\",\"from\":1800000000,\"key\":\"KEYX\"}]}", HistoryRejection.InvalidAction)]
    public void Load_MalformedRoot_IsRefusedWithReason(string payloadTemplate, HistoryRejection reason)
    {
        var actions = ActionJson(AddDevice(_a, "d1", T)) + "," + ActionJson(AddRecovery(_r, T));
        var payload = payloadTemplate.Replace("ACTIONS", actions, StringComparison.Ordinal)
            .Replace("KEYX", SigningKey.Generate("x").PublicKeyEncoded, StringComparison.Ordinal);
        var op = FlattenedJws.Sign(System.Text.Encoding.UTF8.GetBytes(payload), _a, typ: null);

        Assert.Equal(reason, Assert.Throws<HistoryValidationException>(() => SignatureGraph.Load([op])).Reason);
    }

    [Fact]
    public void Load_ControlForMalformedRoot_Loads()
    {
        var actions = ActionJson(AddDevice(_a, "d1", T)) + "," + ActionJson(AddRecovery(_r, T));
        var payload = "{\"sequence\":0,\"previous\":\"-\",\"version\":\"1.0.0\",\"timestamp\":1800000000,\"actions\":[" + actions + "]}";
        var op = FlattenedJws.Sign(System.Text.Encoding.UTF8.GetBytes(payload), _a, typ: null);

        Assert.Equal(2, SignatureGraph.Load([op]).Keys.Count);
    }

    [Fact]
    public void Load_UnknownExtraFields_AreIgnored()
    {
        var actions = ActionJson(AddDevice(_a, "d1", T)).TrimEnd('}') + ",\"note\":\"x\"}," + ActionJson(AddRecovery(_r, T));
        var payload = "{\"sequence\":0,\"previous\":\"-\",\"version\":\"1.0.0\",\"timestamp\":1800000000,\"extra\":{\"a\":[1]},\"actions\":[" + actions + "]}";
        var op = FlattenedJws.Sign(System.Text.Encoding.UTF8.GetBytes(payload), _a, typ: null);

        Assert.Equal(2, SignatureGraph.Load([op]).Keys.Count);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{}")]
    [InlineData("[{\"payload\":\"e30\"}]")]
    [InlineData("[1]")]
    public void LoadJson_NotAHistory_ThrowsMalformedOperation(string json)
    {
        Assert.Equal(HistoryRejection.MalformedOperation, Assert.Throws<HistoryValidationException>(() => SignatureGraph.LoadJson(json)).Reason);
    }

    [Fact]
    public void ParseOperation_NotAJws_ThrowsMalformedOperation()
    {
        Assert.Equal(HistoryRejection.MalformedOperation, Assert.Throws<HistoryValidationException>(() => SignatureGraph.ParseOperation("{\"payload\":1}")).Reason);
    }

    [Fact]
    public void VerifyMessage_SignedByRecoveryKey_IsFalse()
    {
        var root = Op(_a, 0, "-", T, AddDevice(_a, "d1", T), AddRecovery(_r, T));
        var graph = SignatureGraph.Load([root]);

        var byRecovery = FlattenedJws.Sign("{}"u8, _r);
        var byDevice = FlattenedJws.Sign("{}"u8, _a);

        Assert.False(graph.VerifyMessage(byRecovery, DateTimeOffset.FromUnixTimeSeconds(T + 1)));
        Assert.True(graph.VerifyMessage(byDevice, DateTimeOffset.FromUnixTimeSeconds(T + 1)));
    }

    private static FlattenedJws Op(SigningKey signer, int sequence, string previous, long timestamp, params string[] actions)
    {
        var payload = $"{{\"sequence\":{sequence},\"previous\":\"{previous}\",\"version\":\"1.0.0\",\"timestamp\":{timestamp},\"actions\":[{string.Join(",", actions.Select(ActionJson))}]}}";
        return FlattenedJws.Sign(System.Text.Encoding.UTF8.GetBytes(payload), signer, typ: null);
    }

    private static string ActionJson(string action) => action;

    private static string AddDevice(SigningKey key, string did, long from) =>
        $"{{\"kid\":\"{key.Kid}\",\"did\":\"{did}\",\"type\":\"device.key\",\"action\":\"key.add\",\"from\":{from},\"key\":\"{key.PublicKeyEncoded}\"}}";

    private static string AddRecovery(SigningKey key, long from) =>
        $"{{\"kid\":\"{key.Kid}\",\"type\":\"recovery.key\",\"action\":\"key.add\",\"from\":{from},\"key\":\"{key.PublicKeyEncoded}\"}}";

    private static string Revoke(string kid, long from, string type = "device.key") =>
        $"{{\"kid\":\"{kid}\",\"type\":\"{type}\",\"action\":\"key.revoke\",\"from\":{from}}}";
}
