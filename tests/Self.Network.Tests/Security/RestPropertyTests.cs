using System.Net;
using System.Text;
using CsCheck;
using Self.Network.Tests.Infrastructure;
using Self.Network.Tests.Rest;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;

namespace Self.Network.Tests.Security;

/// <summary>
/// Property-based tests of every REST endpoint that reads a body or a path (issue 10): random and mutated requests
/// never get a 5xx, every refusal has the JSON error shape, and a refused request leaves the stored state as it was.
/// Bounded iterations, one request at a time.
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class RestPropertyTests(NetworkFixture fixture)
{
    private const int Iterations = 100;

    private static readonly byte[][] Tokens =
    [
        .. new[] { "\\ud800", "\\u0000", "\"", "{", "}", "[", "]", ",", ":", "null", "-1", "1e999", "99999999999999999999", "\"id\":\"1\",", "\"history\":[],", "*" }
            .Select(static t => Encoding.UTF8.GetBytes(t)),
        [0xff], [0xed, 0xa0, 0x80],
    ];

    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task AppendHistory_MutatedOperations_NeverA5xxAndARefusalChangesNothing()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var seed = HistoryOperations.AddDevice(user.Graph, user.DeviceKey, SigningKey.Generate(), "tablet", user.NextOperationTime).ToJson();

        await Mutated(seed).SampleAsync(
            async body =>
            {
                var before = await StateAsync(user);
                var response = await PostAsync($"/v1/identities/{user.Id}/history", user.Token(), body);
                await AssertAnsweredAsync(response, user, before);
            },
            iter: Iterations,
            threads: 1);
    }

    [Fact]
    public async Task AddDevice_MutatedBodies_NeverA5xxAndARefusalChangesNothing()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        await Mutated("{\"id\":\"1\",\"platform\":\"ios\"}").SampleAsync(
            async body =>
            {
                var before = await StateAsync(user);
                await AssertAnsweredAsync(await PostAsync($"/v1/identities/{user.Id}/devices", user.Token(), body), user, before);
            },
            iter: Iterations,
            threads: 1);
    }

    [Fact]
    public async Task PostOneTimeKeys_MutatedBodies_NeverA5xx()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var key = TestIdentity.OneTimeKey(1);
        await Mutated($"[{{\"id\":\"{key.Id}\",\"key\":\"{key.Key}\"}}]").SampleAsync(
            async body =>
            {
                var before = await StateAsync(user);
                await AssertAnsweredAsync(await PostAsync($"/v1/identities/{user.Id}/devices/1/pre_keys", user.Token(), body), user, before);
            },
            iter: Iterations,
            threads: 1);
    }

    [Fact]
    public async Task Permit_MutatedBodies_NeverA5xxAndARefusalChangesNothing()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        await Mutated(user.Acl(app.Id)).SampleAsync(
            async body =>
            {
                var before = await StateAsync(user);
                await AssertAnsweredAsync(await PostAsync($"/v1/identities/{user.Id}/connections", user.Token(), body), user, before);
            },
            iter: Iterations,
            threads: 1);
    }

    [Fact]
    public async Task Revoke_MutatedBodies_NeverA5xxAndARefusalChangesNothing()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var app = await TestIdentity.CreateAppAsync(Http, fixture.Server.AdminToken);
        await user.ConnectAsync(Http, app.Id);
        await Mutated(user.Acl(app.Id, typ: "acl.revoke", issuedAt: DateTimeOffset.UtcNow.AddSeconds(1))).SampleAsync(
            async body =>
            {
                var before = await StateAsync(user);
                using var request = new HttpRequestMessage(HttpMethod.Delete, $"/v1/identities/{user.Id}/connections/{app.Id}") { Content = Content(body) };
                request.Headers.Authorization = new("Bearer", user.Token());
                await AssertAnsweredAsync(await SendAsync(request), user, before);
            },
            iter: Iterations,
            threads: 1);
    }

    [Fact]
    public async Task RegisterUserAndCreateApp_MutatedBodies_NeverA5xx()
    {
        var (root, _, _) = TestIdentity.NewRoot();
        var registration = IdentityEndpointsTests.RegistrationBody(root, null);
        await Mutated(registration).SampleAsync(
            async body => AssertShape(await PostAsync("/v1/identities", null, body)),
            iter: Iterations,
            threads: 1);

        var (appRoot, _, _) = TestIdentity.NewRoot();
        await Mutated("{\"name\":\"Shop\",\"history\":[" + appRoot.ToJson() + "]}").SampleAsync(
            async body => AssertShape(await PostAsync("/v1/apps", fixture.Server.AdminToken, body)),
            iter: Iterations,
            threads: 1);
    }

    [Fact]
    public async Task RandomPathsAndMethods_NeverA5xxAndAlwaysJson()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var segment = Gen.Char["0123456789abcdef-_.%~:*!'()@$&+,;= "].Array[0, 40].Select(static c => new string(c));
        var methods = Gen.Int[0, 3].Select(static i => new[] { HttpMethod.Get, HttpMethod.Post, HttpMethod.Delete, HttpMethod.Put }[i]);
        var paths = Gen.OneOf(
            segment.Select(static s => "/v1/identities/" + s),
            segment.Select(s => $"/v1/identities/{user.Id}/devices/{s}/pre_keys"),
            segment.Select(s => $"/v1/apps/{user.Id}/connections/{s}"),
            segment.Select(static s => "/v1/" + s));
        await Gen.Select(methods, paths, static (m, p) => (Method: m, Path: p)).SampleAsync(
            async pair =>
            {
                var (method, path) = pair;
                if (!Uri.TryCreate(path.Replace(" ", "%20", StringComparison.Ordinal), UriKind.Relative, out var uri))
                {
                    return;
                }

                using var request = new HttpRequestMessage(method, uri.ToString());
                request.Headers.Authorization = new("Bearer", user.Token());
                AssertShape(await SendAsync(request));
            },
            iter: Iterations * 2,
            threads: 1);
    }

    private static Gen<byte[]> Mutated(string seed)
    {
        var bytes = Encoding.UTF8.GetBytes(seed);
        return Gen.Select(Gen.Int[0, 5], Gen.Int[0, int.MaxValue], Gen.Byte).Array[1, 6].Select(edits =>
        {
            var data = new List<byte>(bytes);
            foreach (var (op, position, value) in edits)
            {
                var at = position % (data.Count + 1);
                switch (op)
                {
                    case 0 when at < data.Count:
                        data[at] ^= (byte)(1 << (value & 7));
                        break;
                    case 1:
                        data.Insert(at, value);
                        break;
                    case 2 when at < data.Count:
                        data.RemoveAt(at);
                        break;
                    case 3:
                        data.RemoveRange(at, data.Count - at);
                        break;
                    case 4:
                        data.InsertRange(at, Tokens[value % Tokens.Length]);
                        break;
                    case 5 when data.Count > 0:
                        var start = value % data.Count;
                        data.InsertRange(at, data.GetRange(start, Math.Min(data.Count - start, 1 + (position % 48))));
                        break;
                }
            }

            return data.ToArray();
        });
    }

    private static ByteArrayContent Content(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return content;
    }

    private async Task<(HttpStatusCode Status, string Body)> PostAsync(string path, string? token, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Content(body) };
        if (token is not null)
        {
            request.Headers.Authorization = new("Bearer", token);
        }

        return await SendAsync(request);
    }

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpRequestMessage request)
    {
        using var response = await Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>What a refusal must leave alone: the history, the active devices and the connections.</summary>
    private async Task<string> StateAsync(TestIdentity user)
    {
        var history = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/history", user.Token());
        var devices = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/devices", user.Token());
        var connections = await Http.CallAsync(HttpMethod.Get, $"/v1/identities/{user.Id}/connections", user.Token());
        return history.Body + "\n" + devices.Body + "\n" + connections.Body;
    }

    private async Task AssertAnsweredAsync((HttpStatusCode Status, string Body) response, TestIdentity user, string before)
    {
        AssertShape(response);
        if (response.Status != HttpStatusCode.OK)
        {
            Assert.Equal(before, await StateAsync(user));
        }
    }

    private static void AssertShape((HttpStatusCode Status, string Body) response)
    {
        Assert.True((int)response.Status < 500, $"{(int)response.Status}: {response.Body}");
        using var json = System.Text.Json.JsonDocument.Parse(response.Body);
        if (response.Status != HttpStatusCode.OK)
        {
            Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("message").GetString()), response.Body);
            Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("code").GetString()), response.Body);
        }
    }
}
