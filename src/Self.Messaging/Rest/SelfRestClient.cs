using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Self.Protocol.Auth;
using Self.Protocol.Jws;
using Self.Protocol.Keys;
using Self.Protocol.Messages;
using Self.Protocol.Rest;

namespace Self.Messaging;

/// <summary>
/// Typed client of the REST API (spec §5) for one identity. Each call carries a fresh auth token (spec §4).
/// Errors become <see cref="SelfApiException"/> (429: <see cref="RateLimitedException"/>); connection failures and
/// 5xx answers are retried with back-off, and connection failures that outlast the retries become
/// <see cref="ServerUnreachableException"/>. Thread-safe.
/// </summary>
internal sealed class SelfRestClient
{
    private static readonly MediaTypeHeaderValue JsonMediaType = new("application/json") { CharSet = "utf-8" };

    private readonly HttpClient _http;
    private readonly SelfRestClientOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates a client over <paramref name="httpClient"/> (not disposed by this client).</summary>
    public SelfRestClient(HttpClient httpClient, SelfRestClientOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.BaseAddress);
        if ((options.IdentityId is null) != (options.SigningKey is null))
        {
            throw new ArgumentException("IdentityId and SigningKey must be given together.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxRetries);
        _http = httpClient;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The calling identity, or <see langword="null"/> for an anonymous client.</summary>
    public string? IdentityId => _options.IdentityId;

    /// <summary>The settings of this client.</summary>
    public SelfRestClientOptions Options => _options;

    /// <summary>A client for <paramref name="identityId"/> signing with <paramref name="signingKey"/>, sharing this client's HTTP connection and settings.</summary>
    public SelfRestClient ForIdentity(string identityId, Protocol.Keys.SigningKey signingKey) =>
        new(_http, _options with { IdentityId = identityId, SigningKey = signingKey }, _logger);

    // ---- Anonymous / operator calls ------------------------------------------------------------------------

    /// <summary><c>POST /v1/identities</c> [ours]: registers a user from its root history operation; returns the Self ID.</summary>
    public async Task<string> RegisterIdentityAsync(FlattenedJws rootOperation, string? wantedId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rootOperation);
        var body = new RegisterIdentityBody([ToWire(rootOperation)], wantedId);
        var result = await SendAsync(
            HttpMethod.Post, "v1/identities", Json(body, RestJsonContext.Default.RegisterIdentityBody), auth: null,
            RestJsonContext.Default.IdBody, cancellationToken).ConfigureAwait(false);
        return RequireId(result, "POST /v1/identities");
    }

    /// <summary><c>POST /v1/apps</c> [ours]: creates an app with the operator's admin token; returns the app id.</summary>
    public async Task<string> CreateAppAsync(string adminToken, string name, FlattenedJws rootOperation, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(adminToken);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(rootOperation);
        var body = new CreateAppBody(name, [ToWire(rootOperation)]);
        var result = await SendAsync(
            HttpMethod.Post, "v1/apps", Json(body, RestJsonContext.Default.CreateAppBody), () => adminToken,
            RestJsonContext.Default.IdBody, cancellationToken).ConfigureAwait(false);
        return RequireId(result, "POST /v1/apps");
    }

    // ---- Identities and histories --------------------------------------------------------------------------

    /// <summary><c>GET /v1/identities/{id}</c>.</summary>
    public Task<PublishedIdentity> GetIdentityAsync(string id, CancellationToken cancellationToken = default) =>
        GetPublishedAsync($"v1/identities/{Escape(id)}", id, cancellationToken);

    /// <summary><c>GET /v1/apps/{id}</c>.</summary>
    public Task<PublishedIdentity> GetAppAsync(string appId, CancellationToken cancellationToken = default) =>
        GetPublishedAsync($"v1/apps/{Escape(appId)}", appId, cancellationToken);

    /// <summary><c>GET /v1/identities/{id}/history</c>.</summary>
    public async Task<IReadOnlyList<FlattenedJws>> GetHistoryAsync(string id, CancellationToken cancellationToken = default)
    {
        var path = $"v1/identities/{Escape(id)}/history";
        var wire = await SendAsync(HttpMethod.Get, path, null, Token(), RestJsonContext.Default.ListJwsBody, cancellationToken).ConfigureAwait(false);
        return FromWire(wire);
    }

    /// <summary><c>POST /v1/identities/{own id}/history</c>: appends one operation to the caller's own history.</summary>
    public Task AppendHistoryAsync(FlattenedJws operation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var path = $"v1/identities/{Escape(OwnId())}/history";
        return SendNoResultAsync(HttpMethod.Post, path, JwsContent(operation), cancellationToken);
    }

    // ---- Devices and pre-keys ------------------------------------------------------------------------------

    /// <summary><c>GET /v1/identities/{id}/devices</c>: the active device ids. A user who has not connected to the caller answers 403.</summary>
    public async Task<IReadOnlyList<string>> GetDevicesAsync(string id, CancellationToken cancellationToken = default)
    {
        var path = $"v1/identities/{Escape(id)}/devices";
        return await SendAsync(HttpMethod.Get, path, null, Token(), RestJsonContext.Default.ListString, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>POST /v1/identities/{own id}/devices</c>: registers a device whose key the history already holds.</summary>
    public Task RegisterDeviceAsync(string deviceId, string platform, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        var path = $"v1/identities/{Escape(OwnId())}/devices";
        return SendNoResultAsync(HttpMethod.Post, path, Json(new DeviceBody(deviceId, platform ?? string.Empty), RestJsonContext.Default.DeviceBody), cancellationToken);
    }

    /// <summary><c>DELETE /v1/identities/{own id}/devices/{did}</c>: deactivates one of the caller's devices.</summary>
    public Task DeleteDeviceAsync(string deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        var path = $"v1/identities/{Escape(OwnId())}/devices/{Escape(deviceId)}";
        return SendNoResultAsync(HttpMethod.Delete, path, null, cancellationToken);
    }

    /// <summary>
    /// <c>GET /v1/identities/{id}/devices/{did}/pre_keys</c>: pops one one-time key of a device. When none is left the
    /// server answers 404 and this throws a <see cref="SelfApiException"/> with status <see cref="HttpStatusCode.NotFound"/>.
    /// </summary>
    public async Task<OneTimeKey> PopPreKeyAsync(string id, string deviceId, CancellationToken cancellationToken = default)
    {
        var path = $"v1/identities/{Escape(id)}/devices/{Escape(deviceId)}/pre_keys";
        var wire = await SendAsync(HttpMethod.Get, path, null, Token(), RestJsonContext.Default.OneTimeKey, cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(wire.Key))
        {
            throw new SelfApiException(HttpStatusCode.OK, "bad_response", $"GET /{path}: the server's answer holds no key");
        }

        return wire.Id is null ? wire with { Id = string.Empty } : wire;
    }

    /// <summary><c>POST /v1/identities/{own id}/devices/{did}/pre_keys</c>: publishes one-time keys (at most 1000 a call).</summary>
    public Task PublishPreKeysAsync(string deviceId, IReadOnlyCollection<OneTimeKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        ArgumentNullException.ThrowIfNull(keys);
        var path = $"v1/identities/{Escape(OwnId())}/devices/{Escape(deviceId)}/pre_keys";
        return SendNoResultAsync(HttpMethod.Post, path, Json(keys.ToList(), RestJsonContext.Default.ListOneTimeKey), cancellationToken);
    }

    // ---- Connections [ours] ---------------------------------------------------------------------------------

    /// <summary><c>POST /v1/identities/{own id}/connections</c>: stores a signed <c>acl.permit</c>.</summary>
    public Task PermitConnectionAsync(FlattenedJws permit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(permit);
        var path = $"v1/identities/{Escape(OwnId())}/connections";
        return SendNoResultAsync(HttpMethod.Post, path, JwsContent(permit), cancellationToken);
    }

    /// <summary><c>GET /v1/identities/{own id}/connections</c>: the caller's stored permits.</summary>
    public async Task<IReadOnlyList<ConnectionPermit>> GetConnectionsAsync(CancellationToken cancellationToken = default)
    {
        var path = $"v1/identities/{Escape(OwnId())}/connections";
        var wire = await SendAsync(HttpMethod.Get, path, null, Token(), RestJsonContext.Default.ListConnectionBody, cancellationToken).ConfigureAwait(false);
        var permits = new List<ConnectionPermit>(wire.Count);
        foreach (var entry in wire)
        {
            if (entry.Source is null || !Rfc3339.TryParse(entry.Expires, out var expires))
            {
                throw new SelfApiException(HttpStatusCode.OK, "bad_response", $"GET /{path}: the server returned a malformed permit");
            }

            permits.Add(new ConnectionPermit(entry.Source, expires));
        }

        return permits;
    }

    /// <summary><c>DELETE /v1/identities/{own id}/connections/{source}</c> with a signed <c>acl.revoke</c>.</summary>
    public Task RevokeConnectionAsync(string source, FlattenedJws revoke, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentNullException.ThrowIfNull(revoke);
        var path = $"v1/identities/{Escape(OwnId())}/connections/{Escape(source)}";
        return SendNoResultAsync(HttpMethod.Delete, path, JwsContent(revoke), cancellationToken);
    }

    private async Task<PublishedIdentity> GetPublishedAsync(string path, string id, CancellationToken cancellationToken)
    {
        var wire = await SendAsync(HttpMethod.Get, path, null, Token(), RestJsonContext.Default.IdentityBody, cancellationToken).ConfigureAwait(false);
        return new PublishedIdentity(
            wire.Id ?? id,
            wire.Type ?? string.Empty,
            wire.Name ?? string.Empty,
            string.IsNullOrEmpty(wire.Image) ? null : wire.Image,
            wire.PaidActions ?? false,
            FromWire(wire.History));
    }

    // ---- Plumbing --------------------------------------------------------------------------------------------

    private async Task SendNoResultAsync(HttpMethod method, string path, Func<HttpContent>? content, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(method, path, content, Token(), cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> SendAsync<T>(
        HttpMethod method, string path, Func<HttpContent>? content, Func<string>? auth, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(method, path, content, auth, cancellationToken).ConfigureAwait(false);
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var value = await JsonSerializer.DeserializeAsync(stream, typeInfo, cancellationToken).ConfigureAwait(false);
                return value ?? throw new JsonException("the body is null");
            }
        }
        catch (JsonException ex)
        {
            throw new SelfApiException(response.StatusCode, "bad_response", $"{method} /{path}: the server's answer is not the expected JSON ({ex.Message})", ex);
        }
    }

    private async Task<HttpResponseMessage> SendRawAsync(
        HttpMethod method, string path, Func<HttpContent>? content, Func<string>? auth, CancellationToken cancellationToken)
    {
        var uri = new Uri(_options.BaseAddress, path);
        for (var attempt = 0; ; attempt++)
        {
            // A fresh request (and so a fresh auth token) per attempt.
            using var request = new HttpRequestMessage(method, uri);
            if (auth is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", auth());
            }

            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            request.Content = content?.Invoke();

            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsConnectionFailure(ex, cancellationToken))
            {
                if (attempt >= _options.MaxRetries)
                {
                    throw new ServerUnreachableException(
                        $"{method} /{path}: the server at {_options.BaseAddress} could not be reached after {attempt + 1} attempt(s): {ex.Message}", ex);
                }

                await DelayBeforeRetryAsync(method, path, ex.Message, attempt, cancellationToken).ConfigureAwait(false);
                continue;
            }

            Log.RestCall(_logger, method.Method, "/" + path, (int)response.StatusCode);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return response;
            }

            if ((int)response.StatusCode >= 500 && attempt < _options.MaxRetries)
            {
                response.Dispose();
                await DelayBeforeRetryAsync(method, path, $"HTTP {(int)response.StatusCode}", attempt, cancellationToken).ConfigureAwait(false);
                continue;
            }

            using (response)
            {
                throw await ToExceptionAsync(method, path, response, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task DelayBeforeRetryAsync(HttpMethod method, string path, string reason, int attempt, CancellationToken cancellationToken)
    {
        var delay = Backoff.Delay(attempt, _options.RetryBaseDelay, _options.RetryMaxDelay);
        Log.RestRetry(_logger, method.Method, "/" + path, reason, attempt + 1, _options.MaxRetries, delay);
        await Task.Delay(delay, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
    }

    private static bool IsConnectionFailure(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        HttpRequestException => true,
        // HttpClient.Timeout surfaces as a TaskCanceledException that our own token did not cause.
        TaskCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };

    private static async Task<SelfApiException> ToExceptionAsync(HttpMethod method, string path, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string? message = null;
        string? code = null;
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!string.IsNullOrWhiteSpace(text))
            {
                try
                {
                    var error = JsonSerializer.Deserialize(text, RestJsonContext.Default.ErrorBody);
                    message = error?.Message;
                    code = error?.Code;
                }
                catch (JsonException)
                {
                    message = text.Length > 200 ? text[..200] : text;
                }
            }
        }
        catch (HttpRequestException)
        {
            // The status alone still says what failed.
        }

        var status = (int)response.StatusCode;
        message = string.IsNullOrWhiteSpace(message) ? response.ReasonPhrase ?? "no reason given" : message;
        code = string.IsNullOrWhiteSpace(code) ? DefaultCode(response.StatusCode) : code;
        var text2 = $"{method} /{path} failed with {status}: {message}";
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            return new RateLimitedException(RetryAfter(response), text2);
        }

        return new SelfApiException(response.StatusCode, code, text2);
    }

    private static TimeSpan RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date && response.Headers.Date is { } now)
        {
            var wait = date - now;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return TimeSpan.FromSeconds(1);
    }

    private static string DefaultCode(HttpStatusCode status) => status switch
    {
        HttpStatusCode.BadRequest => "bad_request",
        HttpStatusCode.Unauthorized => "unauthorized",
        HttpStatusCode.Forbidden => "forbidden",
        HttpStatusCode.NotFound => "not_found",
        HttpStatusCode.Conflict => "conflict",
        HttpStatusCode.RequestEntityTooLarge => "too_large",
        HttpStatusCode.TooManyRequests => "rate_limited",
        _ when (int)status >= 500 => "server_error",
        _ => "unexpected_status",
    };

    private Func<string> Token()
    {
        var id = OwnId();
        var key = _options.SigningKey!;
        var time = _options.TimeProvider;
        return () => AuthToken.Create(key, id, time);
    }

    private string OwnId() =>
        _options.IdentityId ?? throw new InvalidOperationException("This REST client has no identity; create it with IdentityId and SigningKey, or call ForIdentity.");

    private static string RequireId(IdBody result, string call) =>
        string.IsNullOrEmpty(result.Id)
            ? throw new SelfApiException(HttpStatusCode.OK, "bad_response", $"{call}: the server's answer holds no id")
            : result.Id;

    private static string Escape(string segment)
    {
        ArgumentException.ThrowIfNullOrEmpty(segment);
        return Uri.EscapeDataString(segment);
    }

    private static Func<HttpContent> Json<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);
        return () =>
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = JsonMediaType;
            return content;
        };
    }

    private static Func<HttpContent> JwsContent(FlattenedJws jws)
    {
        var bytes = Encoding.UTF8.GetBytes(jws.ToJson());
        return () =>
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = JsonMediaType;
            return content;
        };
    }

    private static JwsBody ToWire(FlattenedJws jws) => JwsBody.From(jws);

    private static List<FlattenedJws> FromWire(List<JwsBody>? history) => history is null ? [] : JwsBody.ToOperations(history);
}
