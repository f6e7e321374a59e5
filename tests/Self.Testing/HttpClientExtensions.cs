using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Self.Testing;

/// <summary>A REST answer: the status, the Retry-After header and the body parsed as JSON (when it is JSON).</summary>
public sealed record ApiResponse(HttpStatusCode Status, string Body, TimeSpan? RetryAfter)
{
    /// <summary>The body as JSON.</summary>
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    /// <summary>The error body's <c>code</c>, if any.</summary>
    public string? Code => Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty("code", out var code) ? code.GetString() : null;

    /// <summary>The error body's <c>message</c>, if any.</summary>
    public string? Message => Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty("message", out var message) ? message.GetString() : null;
}

/// <summary>Raw REST calls, for tests of the wire itself.</summary>
public static class HttpClientExtensions
{
    /// <summary>Sends one request (with a bearer <paramref name="token"/> and a JSON body when given) and reads the whole answer.</summary>
    public static async Task<ApiResponse> CallAsync(this HttpClient http, HttpMethod method, string path, string? token = null, string? json = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.RelativeOrAbsolute));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        return new ApiResponse(response.StatusCode, body, response.Headers.RetryAfter?.Delta);
    }
}
