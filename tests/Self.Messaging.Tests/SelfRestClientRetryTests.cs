using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Self.Protocol;
using Self.Protocol.Auth;
using Self.Protocol.Keys;

namespace Self.Messaging.Tests;

/// <summary>Retry and error mapping, against a scripted HTTP handler (and one closed port).</summary>
public sealed class SelfRestClientRetryTests
{
    private static readonly SigningKey Key = SigningKey.Generate("1");

    [Fact]
    public async Task Call_ConnectionFailsEveryTime_ThrowsServerUnreachableAfterConfiguredRetries()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var handler = new ScriptedHandler(_ => throw new HttpRequestException("connection refused"));
        var client = Client(handler, time, maxRetries: 3);

        var call = client.GetDevicesAsync("84099724068");
        await DriveAsync(time, call);

        var error = await Assert.ThrowsAsync<ServerUnreachableException>(() => call);
        Assert.Equal(4, handler.Requests.Count);
        Assert.Equal("server_unreachable", error.ErrorCode);
        Assert.Contains("4 attempt", error.Message);
    }

    [Fact]
    public async Task Call_ServerErrorThenSuccess_RetriesWithFreshToken()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var answers = new Queue<HttpStatusCode>([HttpStatusCode.ServiceUnavailable, HttpStatusCode.InternalServerError, HttpStatusCode.OK]);
        var handler = new ScriptedHandler(_ => Json(answers.Dequeue(), """["1","2"]"""));
        var client = Client(handler, time, maxRetries: 3);

        var call = client.GetDevicesAsync("84099724068");
        await DriveAsync(time, call);

        Assert.Equal(["1", "2"], await call);
        Assert.Equal(3, handler.Requests.Count);
        var jtis = handler.Requests.Select(r => AuthToken.ReadUnverified(r.Headers.Authorization!.Parameter!).Jti).ToList();
        Assert.Equal(3, jtis.Distinct().Count());
    }

    [Theory]
    [InlineData(HttpStatusCode.BadRequest)]
    [InlineData(HttpStatusCode.Unauthorized)]
    [InlineData(HttpStatusCode.Forbidden)]
    [InlineData(HttpStatusCode.NotFound)]
    [InlineData(HttpStatusCode.Conflict)]
    public async Task Call_ClientError_IsNotRetriedAndKeepsServerMessage(HttpStatusCode status)
    {
        var handler = new ScriptedHandler(_ => Json(status, """{"message":"the server says no","code":"some_code"}"""));
        var client = Client(handler, TimeProvider.System, maxRetries: 3);

        var error = await Assert.ThrowsAsync<SelfApiException>(() => client.GetDevicesAsync("84099724068"));

        Assert.Single(handler.Requests);
        Assert.Equal(status, error.StatusCode);
        Assert.Equal("some_code", error.ErrorCode);
        Assert.Contains("the server says no", error.Message);
        Assert.Contains("GET /v1/identities/84099724068/devices", error.Message);
    }

    [Fact]
    public async Task Call_TooManyRequests_ThrowsRateLimitedWithRetryAfter()
    {
        var handler = new ScriptedHandler(_ =>
        {
            var response = Json(HttpStatusCode.TooManyRequests, """{"message":"slow down","code":"rate_limited"}""");
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(42));
            return response;
        });
        var client = Client(handler, TimeProvider.System, maxRetries: 3);

        var error = await Assert.ThrowsAsync<RateLimitedException>(() => client.GetDevicesAsync("84099724068"));

        Assert.Single(handler.Requests);
        Assert.Equal(TimeSpan.FromSeconds(42), error.RetryAfter);
        Assert.Equal(HttpStatusCode.TooManyRequests, error.StatusCode);
    }

    [Fact]
    public async Task Call_ClosedPort_ThrowsServerUnreachable()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var http = new HttpClient();
        var client = new SelfRestClient(http, new SelfRestClientOptions
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}/"),
            IdentityId = "84099724068",
            SigningKey = Key,
            TimeProvider = time,
            MaxRetries = 1,
        });

        var call = client.GetIdentityAsync("84099724068");
        await DriveAsync(time, call);

        await Assert.ThrowsAsync<ServerUnreachableException>(() => call);
    }

    [Fact]
    public async Task Call_AuthToken_IsSignedForTheCallerWithFreshIdsPerCall()
    {
        var handler = new ScriptedHandler(_ => Json(HttpStatusCode.OK, "[]"));
        var client = Client(handler, TimeProvider.System, maxRetries: 0);

        await client.GetDevicesAsync("84099724068");
        await client.GetDevicesAsync("84099724068");

        var tokens = handler.Requests.Select(r => r.Headers.Authorization!.Parameter!).ToList();
        var first = AuthToken.Verify(tokens[0], Key.PublicKey, TimeProvider.System.GetUtcNow(), TimeSpan.FromSeconds(60));
        var second = AuthToken.ReadUnverified(tokens[1]);
        Assert.Equal("5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0", first.Iss);
        Assert.Equal(first.Iss, first.Sub);
        Assert.NotEqual(first.Jti, second.Jti);
        Assert.NotEqual(first.Cid, second.Cid);
    }

    private static SelfRestClient Client(ScriptedHandler handler, TimeProvider time, int maxRetries) =>
        new(new HttpClient(handler), new SelfRestClientOptions
        {
            BaseAddress = new Uri("http://self.test/"),
            IdentityId = "5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0",
            SigningKey = Key,
            TimeProvider = time,
            MaxRetries = maxRetries,
        });

    private static HttpResponseMessage Json(HttpStatusCode status, string body) =>
        new(status) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };

    /// <summary>Moves the fake clock on until the call completes (the retry delays wait on it).</summary>
    private static Task DriveAsync(FakeTimeProvider time, Task call) =>
        Polling.WaitUntilAsync(
            () =>
            {
                if (!call.IsCompleted)
                {
                    time.Advance(TimeSpan.FromSeconds(1));
                }

                return call.IsCompleted;
            },
            "the call completes");

    private sealed class ScriptedHandler(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
    {
        public List<HttpRequestMessage> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (Requests)
            {
                Requests.Add(request);
            }

            return Task.FromResult(answer(request));
        }
    }
}
