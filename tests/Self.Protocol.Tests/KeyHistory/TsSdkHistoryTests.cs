using System.Text.Json;
using Self.Protocol.Encoding;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;
using Self.Testing;

namespace Self.Protocol.Tests.KeyHistory;

/// <summary>The histories the capture server gave the official TypeScript SDK (ts-sdk/README.md).</summary>
public class TsSdkHistoryTests
{
    private static readonly JsonElement Keys = ReadJson("keys.json");

    [Fact]
    public void LoadJson_UserHistory_FindsDeviceKeyByShaKidNotByDeviceId()
    {
        var user = Keys.GetProperty("user");
        var graph = SignatureGraph.LoadJson(Conformance.ReadText("ts-sdk", "user-history.json"));
        var deviceKid = user.GetProperty("device_key_kid_in_history").GetString()!;

        var current = graph.CurrentDeviceKey("1");

        Assert.NotNull(current);
        Assert.Equal(deviceKid, current.Kid);
        Assert.Equal("1", current.DeviceId);
        Assert.Equal(Base64Codec.Decode(user.GetProperty("device_ed25519_public_b64url").GetString()!), current.PublicKey);
        Assert.Null(graph.FindKey("1"));
        Assert.Equal(user.GetProperty("recovery_kid_in_history").GetString(), graph.ActiveRecoveryKey!.Kid);
        Assert.Equal(["1"], graph.ActiveDeviceIds);
        Assert.Equal(1795858199, current.Created);
    }

    [Fact]
    public void LoadJson_AppHistory_HasDeviceKeyWithKidOne()
    {
        var app = Keys.GetProperty("app");
        var graph = SignatureGraph.LoadJson(Conformance.ReadText("ts-sdk", "app-history.json"));

        var key = graph.FindKey("1");

        Assert.NotNull(key);
        Assert.Equal(KeyRole.Device, key.Role);
        Assert.Equal(Base64Codec.Decode(app.GetProperty("app_ed25519_public_b64url").GetString()!), key.PublicKey);
        Assert.Equal(app.GetProperty("app_recovery_kid").GetString(), graph.ActiveRecoveryKey!.Kid);
    }

    [Fact]
    public void VerifyMessage_ResponseJws_VerifiesWithUserHistoryAtItsIat()
    {
        var graph = SignatureGraph.LoadJson(Conformance.ReadText("ts-sdk", "user-history.json"));
        var response = FlattenedJws.Parse(Conformance.ReadText("ts-sdk", "response-jws.json"));
        var iat = DateTimeOffset.Parse("2026-11-28T09:32:22Z", System.Globalization.CultureInfo.InvariantCulture);

        Assert.True(graph.VerifyMessage(response, iat));
        Assert.False(graph.VerifyMessage(response, DateTimeOffset.FromUnixTimeSeconds(1795858199 - 1)));
    }

    [Fact]
    public void VerifyMessage_RequestJwsAgainstUserHistory_IsFalse()
    {
        var graph = SignatureGraph.LoadJson(Conformance.ReadText("ts-sdk", "user-history.json"));
        var request = FlattenedJws.Parse(Conformance.ReadText("ts-sdk", "request-jws.json"));

        Assert.False(graph.VerifyMessage(request, DateTimeOffset.FromUnixTimeSeconds(1795858342)));
    }

    [Fact]
    public void VerifyMessage_RequestJwsAgainstAppHistory_IsTrue()
    {
        var graph = SignatureGraph.LoadJson(Conformance.ReadText("ts-sdk", "app-history.json"));
        var request = FlattenedJws.Parse(Conformance.ReadText("ts-sdk", "request-jws.json"));

        Assert.True(graph.VerifyMessage(request, DateTimeOffset.FromUnixTimeSeconds(1795858342)));
    }

    [Fact]
    public void Operations_UserHistory_RoundTripByteForByte()
    {
        var text = Conformance.ReadText("ts-sdk", "user-history.json");
        var graph = SignatureGraph.LoadJson(text);
        using var original = JsonDocument.Parse(text);

        Assert.Equal(original.RootElement[0].GetRawText().Replace("\n", "").Replace(" ", ""), graph.Operations[0].ToJson());
    }

    private static JsonElement ReadJson(string name)
    {
        using var doc = JsonDocument.Parse(Conformance.ReadText("ts-sdk", name));
        return doc.RootElement.Clone();
    }
}
