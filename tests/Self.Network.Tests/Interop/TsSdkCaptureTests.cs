using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Self.Network.Storage;
using Self.Network.Tests.Infrastructure;
using Self.Network.Tests.Relay;
using Self.Protocol.Frames;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;
using Self.Testing;

namespace Self.Network.Tests.Interop;

/// <summary>
/// The bytes and tokens the official TypeScript SDK produced (shared/conformance/ts-sdk), replayed against the
/// server on a clock set to the capture time: its bearer tokens, its Auth frame and its Message frame are accepted
/// as they are, and the user's identity registers from the captured history.
/// </summary>
public sealed class TsSdkCaptureTests
{
    private const string AppId = "f37e9ec4af9a32d8e9fdad497a8b8ab1";
    private const string UserId = "84099724068";

    /// <summary>Three seconds after the SDK made its tokens (iat 1795858337, exp 1795858402).</summary>
    private static readonly DateTimeOffset CaptureTime = DateTimeOffset.FromUnixTimeSeconds(1_795_858_340);

    [Fact]
    public async Task CapturedTokensAndFrames_FromTheTypeScriptSdk_AreAcceptedAndRelayed()
    {
        var time = new FakeTimeProvider(CaptureTime);
        await using var server = await NetworkFixture.StartAsync(TempDirectory.Create(), time);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        using var keys = JsonDocument.Parse(Conformance.ReadText("ts-sdk", "keys.json"));
        var userKeys = keys.RootElement.GetProperty("user");
        var userKey = SigningKey.FromSeed(
            userKeys.GetProperty("device_key_kid_in_history").GetString()!,
            Convert.FromBase64String(userKeys.GetProperty("device_ed25519_seed_b64_std_nopad").GetString()! + "="));

        // The user registers from the captured history, asking for its Self ID.
        var registration = "{\"id\":\"" + UserId + "\",\"history\":" + Conformance.ReadText("ts-sdk", "user-history.json") + "}";
        var registered = await http.CallAsync(HttpMethod.Post, "/v1/identities", json: registration);
        Assert.Equal(HttpStatusCode.OK, registered.Status);
        Assert.Equal(UserId, registered.Json.GetProperty("id").GetString());

        // App ids are chosen by the server, so the captured app is put into the store directly.
        var appHistory = SignatureGraph.LoadJson(Conformance.ReadText("ts-sdk", "app-history.json"));
        await server.Services.GetRequiredService<IIdentityStore>().CreateAsync(
            new IdentityRecord(AppId, IdentityType.App, "Conformance Test App", null, CaptureTime),
            appHistory.Operations.Select(static op => op.ToJson()).ToArray(),
            appHistory.ActiveDeviceIds);

        // The SDK's own bearer tokens, as recorded, against the paths it called.
        using var log = JsonDocument.Parse(Conformance.ReadText("ts-sdk", "rest-log.json"));
        foreach (var call in log.RootElement.EnumerateArray().Where(static c => c.GetProperty("method").GetString() == "GET" && c.GetProperty("path").GetString()!.Contains(AppId, StringComparison.Ordinal)))
        {
            var token = call.GetProperty("request_headers").GetProperty("authorization").GetString()!["Bearer ".Length..];
            var answer = await http.CallAsync(HttpMethod.Get, call.GetProperty("path").GetString()!, token);
            Assert.True(answer.Status == HttpStatusCode.OK, $"{call.GetProperty("path")}: {answer.Body}");
        }

        // Each captured token is accepted once (spec §4): the first one again is a replay. The token the SDK made for
        // its pre_keys upload has not been used yet.
        var replay = await http.CallAsync(HttpMethod.Get, $"/v1/apps/{AppId}", CapturedToken(log, 0));
        Assert.Equal(HttpStatusCode.Unauthorized, replay.Status);
        Assert.Equal("token_replayed", replay.Code);
        var app = await http.CallAsync(HttpMethod.Get, $"/v1/apps/{AppId}", CapturedToken(log, 1));
        Assert.True(app.Json.GetProperty("paid_actions").GetBoolean());
        Assert.Equal(appHistory.Operations[0], FlattenedJws.FromJsonElement(app.Json.GetProperty("history")[0]));

        // The user connects to the app with a permit signed by the captured device key.
        var permit = FlattenedJws.Sign(System.Text.Encoding.UTF8.GetBytes(TestIdentity.JsonBody(writer =>
        {
            writer.WriteString("typ", "acl.permit");
            writer.WriteString("iss", UserId);
            writer.WriteString("sub", UserId);
            writer.WriteString("iat", TestIdentity.Rfc3339(CaptureTime));
            writer.WriteString("exp", TestIdentity.Rfc3339(CaptureTime.AddMinutes(5)));
            writer.WriteString("jti", Guid.NewGuid().ToString());
            writer.WriteString("acl_source", AppId);
            writer.WriteString("acl_exp", TestIdentity.Rfc3339(CaptureTime.AddDays(365)));
        })), userKey);
        var userToken = Protocol.Auth.AuthToken.Create(userKey, UserId, time);
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Post, $"/v1/identities/{UserId}/connections", userToken, permit.ToJson())).Status);

        // The SDK's Auth frame, byte for byte, gets the ACK with its id.
        await using var appSocket = await TestSocket.ConnectAsync(server.MessagingUri);
        await appSocket.SendBytesAsync(ReadFrame("frame-auth.b64"));
        Assert.Equal(NotificationFrame.Ack("aed49e60-7748-4efd-a114-44515b42293f"), await appSocket.ReceiveNotificationAsync());

        // The SDK's request Message (no msgtype in its bytes, zero metadata) is stored and ACKed.
        var request = ReadFrame("frame-message-request.b64");
        await appSocket.SendBytesAsync(request);
        Assert.Equal(NotificationFrame.Ack("d46eab25-f43c-49ac-b7ee-e2097439a983"), await appSocket.ReceiveNotificationAsync());

        // The user's device receives it unchanged but for the metadata the server stamps.
        await using var userSocket = await TestSocket.ConnectAsync(server.MessagingUri);
        await userSocket.SendAsync(new AuthFrame("user-auth", Protocol.Auth.AuthToken.Create(userKey, UserId, time), "1"));
        Assert.Equal(MsgType.Ack, (await userSocket.ReceiveNotificationAsync()).Type);
        var delivered = await userSocket.ReceiveMessageAsync();
        var original = Assert.IsType<MessageFrame>(FrameCodec.Decode(request));
        Assert.Equal(original with { Timestamp = delivered.Timestamp, Offset = delivered.Offset }, delivered);
        Assert.Equal(1, delivered.Offset);
        Assert.Equal(Self.Network.Policy.UnixTime.Nanoseconds(CaptureTime), delivered.Timestamp);

        // The capture server's response frame, sent by the user's device, reaches the app.
        await userSocket.SendBytesAsync(ReadFrame("frame-message-response.b64"));
        Assert.Equal(NotificationFrame.Ack("b0a81f60-d2c2-470f-ac76-db8b5826c741"), await userSocket.ReceiveNotificationAsync());
        var response = await appSocket.ReceiveMessageAsync();
        Assert.Equal("84099724068:1", response.Sender);
        Assert.Equal(1168, response.Ciphertext.Length);
    }

    private static string CapturedToken(JsonDocument log, int index) =>
        log.RootElement[index].GetProperty("request_headers").GetProperty("authorization").GetString()!["Bearer ".Length..];

    private static byte[] ReadFrame(string name) => Convert.FromBase64String(Conformance.ReadText("ts-sdk", name).Trim());
}
