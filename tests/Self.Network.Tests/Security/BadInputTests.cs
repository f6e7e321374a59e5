using System.Net;
using System.Net.Sockets;
using System.Text;
using Self.Network.Tests.Infrastructure;
using Self.Protocol.Jws;

namespace Self.Network.Tests.Security;

/// <summary>
/// Hole 2 of issue 10: inputs that made the server answer 500 (or Kestrel an empty body) now get a 4xx with the JSON
/// error shape <c>{"message","code"}</c>.
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class BadInputTests(NetworkFixture fixture)
{
    private const string LoneSurrogate = "\\ud800x";

    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task RegisterUser_WantedIdWithALoneSurrogate_Returns400()
    {
        var (root, _, _) = TestIdentity.NewRoot();
        var body = "{\"id\":\"" + LoneSurrogate + "\",\"history\":[" + root.ToJson() + "]}";

        var response = await Http.CallAsync(HttpMethod.Post, "/v1/identities", json: body);

        AssertJsonError(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task CreateApp_NameWithALoneSurrogate_Returns400()
    {
        var (root, _, _) = TestIdentity.NewRoot();
        var body = "{\"name\":\"" + LoneSurrogate + "\",\"history\":[" + root.ToJson() + "]}";

        var response = await Http.CallAsync(HttpMethod.Post, "/v1/apps", fixture.Server.AdminToken, body);

        AssertJsonError(response, HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("{\"payload\":\"" + LoneSurrogate + "\",\"protected\":\"e30\",\"signature\":\"AA\"}")]
    [InlineData("{\"" + LoneSurrogate + "\":1,\"payload\":\"e30\",\"protected\":\"e30\",\"signature\":\"AA\"}")]
    public async Task AppendHistory_OperationWithALoneSurrogate_Returns400(string operation)
    {
        var user = await TestIdentity.RegisterUserAsync(Http);

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/history", user.Token(), operation);

        AssertJsonError(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task PostOneTimeKeys_IdWithALoneSurrogate_Returns400()
    {
        var user = await TestIdentity.RegisterUserAsync(Http);

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/devices/1/pre_keys", user.Token(), "[{\"id\":\"" + LoneSurrogate + "\",\"key\":\"k\"}]");

        AssertJsonError(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task RegisterUser_InvalidUtf8InAString_Returns400()
    {
        // Found by the property tests: a string's UTF-8 is only checked when it is decoded, which used to throw.
        var (root, _, _) = TestIdentity.NewRoot();
        var body = Encoding.UTF8.GetBytes("{\"id\":\"x\",\"history\":[" + root.ToJson() + "]}");
        body[8] = 0xAD;
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        using var response = await Http.PostAsync("/v1/identities", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("bad_request", json.RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Token_HeaderWithALoneSurrogate_Returns401()
    {
        var header = Protocol.Encoding.Base64Codec.EncodeUrl(Encoding.UTF8.GetBytes("{\"alg\":\"EdDSA\",\"kid\":\"" + LoneSurrogate + "\"}"));
        var token = header + ".e30.AA";

        var response = await Http.CallAsync(HttpMethod.Get, "/v1/identities/12345678901", token);

        AssertJsonError(response, HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z")]
    [InlineData("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z")]
    public async Task Permit_TimesAtTheEdgesOfTheCalendar_Returns4xxNot500(string expires, string issuedAt)
    {
        var user = await TestIdentity.RegisterUserAsync(Http);
        var claims = TestIdentity.JsonBody(writer =>
        {
            writer.WriteString("typ", "acl.permit");
            writer.WriteString("iss", user.Id);
            writer.WriteString("sub", user.Id);
            writer.WriteString("iat", issuedAt);
            writer.WriteString("exp", expires);
            writer.WriteString("jti", Guid.NewGuid().ToString());
            writer.WriteString("acl_source", "*");
            writer.WriteString("acl_exp", "9999-12-31T23:59:59Z");
        });
        var permit = FlattenedJws.Sign(Encoding.UTF8.GetBytes(claims), user.DeviceKey).ToJson();

        var response = await Http.CallAsync(HttpMethod.Post, $"/v1/identities/{user.Id}/connections", user.Token(), permit);

        Assert.True((int)response.Status < 500, $"{response.Status}: {response.Body}");
    }

    [Fact]
    public async Task Kestrel_HeaderOf60Kilobytes_Returns431WithTheJsonErrorShape()
    {
        var answer = await RawAsync("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + new string('a', 60 * 1024) + "\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 431", answer, StringComparison.Ordinal);
        AssertJsonBody(answer);
    }

    [Fact]
    public async Task Kestrel_NulInThePath_Returns400WithTheJsonErrorShape()
    {
        var answer = await RawAsync("GET /v1/identities/%00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
        AssertJsonBody(answer);
    }

    [Fact]
    public async Task Kestrel_GarbageRequestLine_Returns400WithTheJsonErrorShape()
    {
        var answer = await RawAsync("\u0001\u0002 nonsense\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
        AssertJsonBody(answer);
    }

    private async Task<string> RawAsync(string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(fixture.Server.BaseAddress.Host, fixture.Server.BaseAddress.Port);
        await using var stream = client.GetStream();
        var bytes = Encoding.Latin1.GetBytes(request);
        try
        {
            await stream.WriteAsync(bytes);
        }
        catch (IOException)
        {
            // The server may answer and close before the whole request is written.
        }

        using var reader = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            int read;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                reader.Write(buffer, 0, read);
                var text = Encoding.Latin1.GetString(reader.ToArray());
                if (IsComplete(text))
                {
                    return text;
                }
            }
        }
        catch (IOException)
        {
            // Connection reset after the answer.
        }

        return Encoding.Latin1.GetString(reader.ToArray());
    }

    private static bool IsComplete(string text)
    {
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }

        var length = text[..end].Split("\r\n").FirstOrDefault(static l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        return length is not null && text.Length - end - 4 >= int.Parse(length["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void AssertJsonBody(string answer)
    {
        var end = answer.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, answer);
        Assert.Contains("Content-Type: application/json", answer[..end], StringComparison.OrdinalIgnoreCase);
        using var body = System.Text.Json.JsonDocument.Parse(answer[(end + 4)..]);
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("code").GetString()));
    }

    private static void AssertJsonError(ApiResponse response, HttpStatusCode status)
    {
        Assert.True(response.Status == status, $"{response.Status}: {response.Body}");
        Assert.False(string.IsNullOrEmpty(response.Code));
        Assert.False(string.IsNullOrEmpty(response.Message));
    }
}
