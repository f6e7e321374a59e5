using System.Net;
using System.Text.Json;
using Self.Network.Tests.Infrastructure;
using Self.Protocol.Auth;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;

namespace Self.Network.Tests.Rest;

[Collection(NetworkCollection.Name)]
public sealed class HistoryEndpointsTests(NetworkFixture fixture)
{
    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task AppendHistory_AddDevice_StoresItAndActivatesTheDevice()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);

        var tablet = await user.AddDeviceAsync(Http, "tablet");

        var history = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/history", user.Token());
        Assert.Equal(2, history.Json.GetArrayLength());
        var devices = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices", user.Token());
        Assert.Equal(["1", "tablet"], devices.Json.EnumerateArray().Select(static d => d.GetString()));
        var tabletToken = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", AuthToken.Create(tablet, user.Id, TimeProvider.System));
        Assert.Equal(HttpStatusCode.OK, tabletToken.Status);
    }

    [Fact]
    public async Task AppendHistory_RevokeDevice_DeactivatesItAndItsTokensAreRefused()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var tablet = await user.AddDeviceAsync(Http, "tablet");

        var revoke = HistoryOperations.RevokeDevice(user.Graph, user.DeviceKey, "tablet", user.NextOperationTime);
        Assert.Equal(HttpStatusCode.OK, (await user.AppendAsync(Http, revoke)).Status);

        var devices = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices", user.Token());
        Assert.Equal(["1"], devices.Json.EnumerateArray().Select(static d => d.GetString()));
        var revoked = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", AuthToken.Create(tablet, user.Id, TimeProvider.System));
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.Status);
        Assert.Equal("token_key_revoked", revoked.Code);
    }

    [Fact]
    public async Task AppendHistory_Recovery_SignedAndAuthenticatedWithTheRecoveryKey_ReplacesTheDevices()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var newDevice = SigningKey.Generate();
        var recovery = HistoryOperations.Recover(user.Graph, user.RecoveryKey, newDevice, "new-phone", SigningKey.Generate(), user.NextOperationTime);

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/history", AuthToken.Create(user.RecoveryKey, user.Id, TimeProvider.System), recovery.ToJson());

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var devices = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices", AuthToken.Create(newDevice, user.Id, TimeProvider.System));
        Assert.Equal(HttpStatusCode.OK, devices.Status);
        Assert.Equal(["new-phone"], devices.Json.EnumerateArray().Select(static d => d.GetString()));
        Assert.Equal(HttpStatusCode.Unauthorized, (await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}", user.Token())).Status);
    }

    public static TheoryData<string, HistoryRejection> BrokenRules() => new()
    {
        { "sequence", HistoryRejection.SequenceOutOfOrder },
        { "previous", HistoryRejection.PreviousSignatureMismatch },
        { "timestamp", HistoryRejection.TimestampNotIncreasing },
        { "version", HistoryRejection.InvalidVersion },
        { "no-actions", HistoryRejection.EmptyActions },
        { "duplicate-kid", HistoryRejection.DuplicateKeyId },
        { "unknown-signer", HistoryRejection.UnknownSigningKey },
        { "bad-signature", HistoryRejection.InvalidSignature },
        { "second-device-key", HistoryRejection.MultipleActiveDeviceKeys },
        { "revoke-unknown", HistoryRejection.UnknownKey },
        { "recovery-without-revoke", HistoryRejection.RecoveryWithoutRevocation },
        { "second-recovery-key", HistoryRejection.MultipleActiveRecoveryKeys },
    };

    [Theory]
    [MemberData(nameof(BrokenRules))]
    public async Task AppendHistory_OperationBreakingARule_Returns400WithTheReasonAndStoresNothing(string rule, HistoryRejection reason)
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var graph = user.Graph;
        var next = graph.LastTimestamp + 1;
        var newKey = SigningKey.Generate();
        var deviceKid = user.DeviceKey.Kid;
        var operation = rule switch
        {
            "sequence" => Operation(user.DeviceKey, 5, graph.LastSignature, next, [Add(newKey, "tablet")]),
            "previous" => Operation(user.DeviceKey, 1, "not-the-previous-signature", next, [Add(newKey, "tablet")]),
            "timestamp" => Operation(user.DeviceKey, 1, graph.LastSignature, graph.LastTimestamp, [Add(newKey, "tablet")]),
            "version" => Operation(user.DeviceKey, 1, graph.LastSignature, next, [Add(newKey, "tablet")], version: "2.0.0"),
            "no-actions" => Operation(user.DeviceKey, 1, graph.LastSignature, next, []),
            "duplicate-kid" => Operation(user.DeviceKey, 1, graph.LastSignature, next, [Add(SigningKey.Generate(deviceKid), "tablet")]),
            "unknown-signer" => Operation(SigningKey.Generate("stranger"), 1, graph.LastSignature, next, [Add(newKey, "tablet")]),
            "bad-signature" => Operation(SigningKey.Generate(deviceKid), 1, graph.LastSignature, next, [Add(newKey, "tablet")]),
            "second-device-key" => Operation(user.DeviceKey, 1, graph.LastSignature, next, [Add(newKey, "1")]),
            "revoke-unknown" => Operation(user.DeviceKey, 1, graph.LastSignature, next, [Revoke("no-such-key", "device.key", next)]),
            "recovery-without-revoke" => Operation(user.RecoveryKey, 1, graph.LastSignature, next, [Add(newKey, "tablet")]),
            "second-recovery-key" => Operation(user.DeviceKey, 1, graph.LastSignature, next, [AddRecovery(newKey)]),
            _ => throw new ArgumentOutOfRangeException(nameof(rule)),
        };

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/history", user.Token(), operation.ToJson());

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(HistoryValidationException.CodeOf(reason), response.Code);
        Assert.StartsWith("Operation ", response.Message, StringComparison.Ordinal);
        var history = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/history", user.Token());
        Assert.Equal(1, history.Json.GetArrayLength());
    }

    [Fact]
    public async Task AppendHistory_InvalidDeviceId_Returns400()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var operation = Operation(user.DeviceKey, 1, user.Graph.LastSignature, user.Graph.LastTimestamp + 1, [Add(SigningKey.Generate(), "bad:device")]);

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/history", user.Token(), operation.ToJson());

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
    }

    [Fact]
    public async Task AppendHistory_ByAnotherIdentity_Returns403()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var other = await TestIdentity.RegisterUserAsync(Http);
        var operation = HistoryOperations.AddDevice(user.Graph, user.DeviceKey, SigningKey.Generate(), "tablet", user.NextOperationTime);

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/history", other.Token(), operation.ToJson());

        Assert.Equal(HttpStatusCode.Forbidden, response.Status);
    }

    [Fact]
    public async Task AppendHistory_UnknownIdentity_Returns404()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var operation = HistoryOperations.AddDevice(user.Graph, user.DeviceKey, SigningKey.Generate(), "tablet", user.NextOperationTime);

        var response = await Http.CallAsync(HttpMethod.Post, "/v1/identities/10000000002/history", user.Token(), operation.ToJson());

        Assert.Equal(HttpStatusCode.NotFound, response.Status);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("{\"payload\":\"e30\"}")]
    [InlineData("[1,2]")]
    public async Task AppendHistory_MalformedBody_Returns400(string body)
    {
        var user = await TestIdentity.RegisterUserAsync(Http);

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/history", user.Token(), body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("history_malformed_operation", response.Code);
    }

    private sealed record ActionSpec(Action<Utf8JsonWriter> Write);

    private static ActionSpec Add(SigningKey key, string deviceId) => new(writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("kid", key.Kid);
        writer.WriteString("did", deviceId);
        writer.WriteString("type", "device.key");
        writer.WriteString("action", "key.add");
        writer.WriteNumber("from", 1);
        writer.WriteString("key", key.PublicKeyEncoded);
        writer.WriteEndObject();
    });

    private static ActionSpec AddRecovery(SigningKey key) => new(writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("kid", key.Kid);
        writer.WriteString("type", "recovery.key");
        writer.WriteString("action", "key.add");
        writer.WriteNumber("from", 1);
        writer.WriteString("key", key.PublicKeyEncoded);
        writer.WriteEndObject();
    });

    private static ActionSpec Revoke(string kid, string type, long from) => new(writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("kid", kid);
        writer.WriteString("type", type);
        writer.WriteString("action", "key.revoke");
        writer.WriteNumber("from", from);
        writer.WriteEndObject();
    });

    private static FlattenedJws Operation(SigningKey signer, int sequence, string previous, long timestamp, ActionSpec[] actions, string version = "1.0.0")
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("sequence", sequence);
            writer.WriteString("previous", previous);
            writer.WriteString("version", version);
            writer.WriteNumber("timestamp", timestamp);
            writer.WriteStartArray("actions");
            foreach (var action in actions)
            {
                action.Write(writer);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return FlattenedJws.Sign(buffer.WrittenSpan, signer, typ: null);
    }
}
