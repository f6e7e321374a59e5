using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Self.Protocol.Auth;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;

namespace Self.Network.Tests.Infrastructure;

/// <summary>
/// A user or app registered on a test server with real keys: its device keys, recovery key and history.
/// </summary>
public sealed class TestIdentity
{
    private readonly Dictionary<string, SigningKey> _deviceKeys = new(StringComparer.Ordinal);

    private TestIdentity(string id, SigningKey deviceKey, string deviceId, SigningKey recoveryKey, SignatureGraph graph)
    {
        Id = id;
        DeviceId = deviceId;
        RecoveryKey = recoveryKey;
        Graph = graph;
        _deviceKeys[deviceId] = deviceKey;
    }

    public string Id { get; }

    /// <summary>The first device.</summary>
    public string DeviceId { get; }

    public SigningKey DeviceKey => _deviceKeys[DeviceId];

    public SigningKey RecoveryKey { get; private set; }

    public SignatureGraph Graph { get; private set; }

    public string Address => Id + ":" + DeviceId;

    /// <summary>
    /// Histories start ten minutes back and each operation is one second after the last, so every key is already
    /// valid (and every revoked key already invalid) when the test uses it.
    /// </summary>
    public DateTimeOffset NextOperationTime => DateTimeOffset.FromUnixTimeSeconds(Graph.LastTimestamp + 1);

    public SigningKey KeyOf(string deviceId) => _deviceKeys[deviceId];

    public string Token(TimeProvider? time = null, string? deviceId = null) =>
        AuthToken.Create(_deviceKeys[deviceId ?? DeviceId], Id, time ?? TimeProvider.System);

    /// <summary>A fresh root operation: device key for <paramref name="deviceId"/> plus a recovery key.</summary>
    public static (FlattenedJws Root, SigningKey DeviceKey, SigningKey RecoveryKey) NewRoot(string deviceId = "1", TimeProvider? time = null)
    {
        var deviceKey = SigningKey.Generate();
        var recoveryKey = SigningKey.Generate();
        var root = HistoryOperations.CreateIdentity(deviceKey, deviceId, recoveryKey, (time ?? TimeProvider.System).GetUtcNow().AddMinutes(-10));
        return (root, deviceKey, recoveryKey);
    }

    public static async Task<TestIdentity> RegisterUserAsync(HttpClient http, string deviceId = "1", string? wantedId = null, TimeProvider? time = null)
    {
        var (root, deviceKey, recoveryKey) = NewRoot(deviceId, time);
        var body = JsonBody(writer =>
        {
            writer.WritePropertyName("history");
            writer.WriteStartArray();
            root.WriteTo(writer);
            writer.WriteEndArray();
            if (wantedId is not null)
            {
                writer.WriteString("id", wantedId);
            }
        });
        var response = await http.CallAsync(HttpMethod.Post, "/v1/identities", json: body);
        Assert.True(response.Status == HttpStatusCode.OK, $"registration failed: {response.Status} {response.Body}");
        return new TestIdentity(response.Json.GetProperty("id").GetString()!, deviceKey, deviceId, recoveryKey, SignatureGraph.Load([root]));
    }

    public static async Task<TestIdentity> CreateAppAsync(HttpClient http, string adminToken, string name = "Test App", TimeProvider? time = null)
    {
        // Apps sign with the kid their secret names ("1" for gen-1 secrets).
        var deviceKey = SigningKey.Generate(SigningKey.DefaultKid);
        var recoveryKey = SigningKey.Generate();
        var root = HistoryOperations.CreateIdentity(deviceKey, "1", recoveryKey, (time ?? TimeProvider.System).GetUtcNow().AddMinutes(-10));
        var body = JsonBody(writer =>
        {
            writer.WriteString("name", name);
            writer.WritePropertyName("history");
            writer.WriteStartArray();
            root.WriteTo(writer);
            writer.WriteEndArray();
        });
        var response = await http.CallAsync(HttpMethod.Post, "/v1/apps", adminToken, body);
        Assert.True(response.Status == HttpStatusCode.OK, $"app creation failed: {response.Status} {response.Body}");
        return new TestIdentity(response.Json.GetProperty("id").GetString()!, deviceKey, "1", recoveryKey, SignatureGraph.Load([root]));
    }

    /// <summary>Posts <paramref name="operation"/> to the history and, when accepted, follows it locally.</summary>
    public async Task<ApiResponse> AppendAsync(HttpClient http, FlattenedJws operation, TimeProvider? time = null, string? signingDevice = null)
    {
        var response = await http.CallAsync(HttpMethod.Post, $"/v1/identities/{Id}/history", Token(time, signingDevice), operation.ToJson());
        if (response.Status == HttpStatusCode.OK)
        {
            Graph = Graph.Append(operation);
        }

        return response;
    }

    /// <summary>Adds a device with a fresh key through a history operation signed by the first device.</summary>
    public async Task<SigningKey> AddDeviceAsync(HttpClient http, string deviceId, TimeProvider? time = null)
    {
        var key = SigningKey.Generate();
        var operation = HistoryOperations.AddDevice(Graph, DeviceKey, key, deviceId, NextOperationTime);
        var response = await AppendAsync(http, operation, time);
        Assert.True(response.Status == HttpStatusCode.OK, $"adding a device failed: {response.Status} {response.Body}");
        _deviceKeys[deviceId] = key;
        return key;
    }

    /// <summary>Replaces the key of a device (signed by the first device) and keeps the new key.</summary>
    public async Task<SigningKey> RotateAsync(HttpClient http, string deviceId, TimeProvider? time = null)
    {
        var key = SigningKey.Generate();
        var operation = HistoryOperations.RotateDeviceKey(Graph, _deviceKeys[deviceId], deviceId, key, NextOperationTime);
        var oldKeyToken = Token(time, deviceId);
        var response = await http.CallAsync(HttpMethod.Post, $"/v1/identities/{Id}/history", oldKeyToken, operation.ToJson());
        Assert.True(response.Status == HttpStatusCode.OK, $"rotating failed: {response.Status} {response.Body}");
        Graph = Graph.Append(operation);
        _deviceKeys[deviceId] = key;
        return key;
    }

    /// <summary>A signed <c>acl.permit</c> (or <c>acl.revoke</c>) for <paramref name="source"/>.</summary>
    public string Acl(string source, string typ = "acl.permit", DateTimeOffset? aclExpires = null, TimeProvider? time = null, SigningKey? signer = null, DateTimeOffset? issuedAt = null, DateTimeOffset? expires = null, string? issuer = null)
    {
        var now = (time ?? TimeProvider.System).GetUtcNow();
        var claims = JsonBody(writer =>
        {
            writer.WriteString("typ", typ);
            writer.WriteString("iss", issuer ?? Id);
            writer.WriteString("sub", issuer ?? Id);
            writer.WriteString("iat", Rfc3339(issuedAt ?? now));
            writer.WriteString("exp", Rfc3339(expires ?? now.AddMinutes(5)));
            writer.WriteString("jti", Guid.NewGuid().ToString());
            writer.WriteString("acl_source", source);
            writer.WriteString("acl_exp", Rfc3339(aclExpires ?? now.AddDays(30)));
        });
        return FlattenedJws.Sign(System.Text.Encoding.UTF8.GetBytes(claims), signer ?? DeviceKey).ToJson();
    }

    /// <summary>Lets <paramref name="source"/> reach this user (POST …/connections).</summary>
    public async Task ConnectAsync(HttpClient http, string source, TimeProvider? time = null, DateTimeOffset? aclExpires = null)
    {
        var response = await http.CallAsync(HttpMethod.Post, $"/v1/identities/{Id}/connections", Token(time), Acl(source, time: time, aclExpires: aclExpires));
        Assert.True(response.Status == HttpStatusCode.OK, $"connecting failed: {response.Status} {response.Body}");
    }

    /// <summary>A well-formed Olm one-time key: a 4-byte key id and a fresh random 32-byte Curve25519 key, both base64.</summary>
    public static (string Id, string Key) OneTimeKey(uint id)
    {
        Span<byte> bytes = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, id);
        return (Protocol.Encoding.Base64Codec.EncodeStandard(bytes), Protocol.Encoding.Base64Codec.EncodeStandard(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
    }

    public static string Rfc3339(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static string JsonBody(Action<Utf8JsonWriter> members)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            members(writer);
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
