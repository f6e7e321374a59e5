using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Self.Network.Tests.Infrastructure;

/// <summary>
/// One real server on 127.0.0.1 with a free port and a fresh data folder, shared by the tests of the
/// <see cref="NetworkCollection"/>. Its registration and message limits are raised so that tests, which all come
/// from 127.0.0.1, do not trip over each other; the rate-limit tests start servers of their own.
/// </summary>
public sealed class NetworkFixture : IAsyncLifetime
{
    private SelfNetworkServer? _server;

    public SelfNetworkServer Server => _server ?? throw new InvalidOperationException("The server is not started.");

    public HttpClient Http { get; } = new();

    public TimeProvider Time => TimeProvider.System;

    public async Task InitializeAsync()
    {
        _server = await StartAsync(TempDirectory.Create(), TimeProvider.System, new RateLimitOptions
        {
            IdentitiesPerClient = 100_000,
            MessagesPerRecipient = 100_000,
        });
        Http.BaseAddress = _server.BaseAddress;
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>Starts a server of its own for a test that needs special options.</summary>
    public static Task<SelfNetworkServer> StartAsync(string dataDirectory, TimeProvider time, RateLimitOptions? limits = null, Func<SelfNetworkOptions, SelfNetworkOptions>? configure = null)
    {
        var options = new SelfNetworkOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = dataDirectory,
            TimeProvider = time,
            RateLimits = limits ?? new RateLimitOptions(),
        };
        return SelfNetworkServer.StartAsync(configure?.Invoke(options) ?? options);
    }
}

[CollectionDefinition(Name)]
public sealed class NetworkCollection : ICollectionFixture<NetworkFixture>
{
    public const string Name = "network";
}

/// <summary>A REST answer: the status, the Retry-After header and the body parsed as JSON (when it is JSON).</summary>
public sealed record ApiResponse(System.Net.HttpStatusCode Status, string Body, TimeSpan? RetryAfter)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string? Code => Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty("code", out var code) ? code.GetString() : null;

    public string? Message => Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty("message", out var message) ? message.GetString() : null;
}

public static class HttpClientExtensions
{
    public static async Task<ApiResponse> CallAsync(this HttpClient http, HttpMethod method, string path, string? token = null, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return new ApiResponse(response.StatusCode, body, response.Headers.RetryAfter?.Delta);
    }
}
