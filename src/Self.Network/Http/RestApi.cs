using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Self.Network.Authentication;
using Self.Network.Diagnostics;
using Self.Network.Hosting;
using Self.Network.Policy;
using Self.Network.Registry;
using Self.Network.Storage;
using Self.Protocol.Identifiers;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;
using Self.Protocol.Rest;

namespace Self.Network.Http;

/// <summary>The REST API of spec §5. Every answer is JSON: 200 on success, <c>{"message","code"}</c> otherwise.</summary>
internal sealed class RestApi(
    IdentityRegistry registry,
    TokenAuthenticator authenticator,
    IDeviceStore devices,
    IOneTimeKeyStore oneTimeKeys,
    IConnectionStore connections,
    IInboxStore inboxes,
    RateLimits rateLimits,
    AdminTokenProvider adminToken,
    NetworkMetrics metrics,
    SelfNetworkOptions options,
    ILogger<RestApi> logger)
{
    private const int MaxNameLength = 128;
    private const int MaxImageLength = 2048;
    private const int MaxPlatformLength = 64;
    private const int MaxKeyFieldLength = 512;

    private static readonly byte[] EmptyObject = "{}"u8.ToArray();

    private readonly ILogger _logger = logger;
    private readonly NetworkMetrics _metrics = metrics.ObservingInboxes(inboxes);

    private delegate Task<IResult> Handler(RestApi api, HttpContext context, CancellationToken cancellationToken);

    /// <summary>Maps every route; each <c>/v1/identities/{id}…</c> path also as <c>/v1/apps/{id}…</c>.</summary>
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        foreach (var prefix in (string[])["/v1/identities", "/v1/apps"])
        {
            MapRoute(endpoints, HttpMethods.Get, prefix + "/{id}", static (api, c, ct) => api.GetIdentityAsync(c, ct));
            MapRoute(endpoints, HttpMethods.Get, prefix + "/{id}/history", static (api, c, ct) => api.GetHistoryAsync(c, ct));
            MapRoute(endpoints, HttpMethods.Post, prefix + "/{id}/history", static (api, c, ct) => api.AppendHistoryAsync(c, ct));
            MapRoute(endpoints, HttpMethods.Get, prefix + "/{id}/devices", static (api, c, ct) => api.ListDevicesAsync(c, ct));
            MapRoute(endpoints, HttpMethods.Post, prefix + "/{id}/devices", static (api, c, ct) => api.AddDeviceAsync(c, ct));
            MapRoute(endpoints, HttpMethods.Delete, prefix + "/{id}/devices/{did}", static (api, c, ct) => api.RemoveDeviceAsync(c, ct));
            MapRoute(endpoints, HttpMethods.Get, prefix + "/{id}/devices/{did}/pre_keys", static (api, c, ct) => api.PopOneTimeKeyAsync(c, ct));
            MapRoute(endpoints, HttpMethods.Post, prefix + "/{id}/devices/{did}/pre_keys", static (api, c, ct) => api.AddOneTimeKeysAsync(c, ct));
            MapRoute(endpoints, HttpMethods.Get, prefix + "/{id}/connections", static (api, c, ct) => api.ListConnectionsAsync(c, ct));
            MapRoute(endpoints, HttpMethods.Post, prefix + "/{id}/connections", static (api, c, ct) => api.PermitAsync(c, ct));
            MapRoute(endpoints, HttpMethods.Delete, prefix + "/{id}/connections/{source}", static (api, c, ct) => api.RevokeAsync(c, ct));
        }

        MapRoute(endpoints, HttpMethods.Post, "/v1/identities", static (api, c, ct) => api.RegisterUserAsync(c, ct));
        MapRoute(endpoints, HttpMethods.Post, "/v1/apps", static (api, c, ct) => api.CreateAppAsync(c, ct));

        // Anything else under /v1 gets a JSON 404 rather than an empty body.
        endpoints.Map("/v1/{**rest}", static context => RunAsync(context, static (_, c, _) =>
            throw ApiException.NotFound($"There is no {c.Request.Method} {c.Request.Path}.")));
    }

    private static void MapRoute(IEndpointRouteBuilder endpoints, string method, string pattern, Handler handler) =>
        endpoints.MapMethods(pattern, [method], context => RunAsync(context, handler));

    private static async Task RunAsync(HttpContext context, Handler handler)
    {
        var api = context.RequestServices.GetRequiredService<RestApi>();
        IResult result;
        try
        {
            result = await handler(api, context, context.RequestAborted).ConfigureAwait(false);
        }
        catch (ApiException ex)
        {
            result = api.Refuse(context, ex.StatusCode, ex.ErrorCode, ex.Message, ex.RetryAfter);
        }
        catch (HistoryValidationException ex)
        {
            result = api.Refuse(context, StatusCodes.Status400BadRequest, ex.ErrorCode, ex.Message, null);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            Log.RequestFailed(api._logger, context.Request.Method, context.Request.Path, ex);
            result = api.Refuse(context, StatusCodes.Status500InternalServerError, ErrorCodes.Internal, "The server failed to handle the request.", null);
        }

        await result.ExecuteAsync(context).ConfigureAwait(false);
        api._metrics.HttpRequest(context.Response.StatusCode);
    }

    private IResult Refuse(HttpContext context, int status, string code, string message, TimeSpan? retryAfter)
    {
        Log.RequestRefused(_logger, context.Request.Method, context.Request.Path, status, code, message);
        _metrics.Refused(code);
        if (retryAfter is { } wait)
        {
            context.Response.Headers.RetryAfter = KeyedRateLimiter.ToRetrySeconds(wait).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return Results.Json(new ErrorBody(message, code), RestJsonContext.Default.ErrorBody, statusCode: status);
    }

    // ---- identities and histories ----

    private async Task<IResult> GetIdentityAsync(HttpContext context, CancellationToken cancellationToken)
    {
        await AuthenticateAsync(context, cancellationToken).ConfigureAwait(false);
        var target = await TargetAsync(context, cancellationToken).ConfigureAwait(false);
        var app = target.IsApp;
        var body = new IdentityBody(
            target.Id,
            app ? "app" : "individual",
            Name: app ? target.Record.Name ?? string.Empty : null,
            Image: app && !string.IsNullOrEmpty(target.Record.Image) ? target.Record.Image : null,
            PaidActions: app ? true : null,
            JwsBody.From(target.Graph.Operations));
        return Json(body, RestJsonContext.Default.IdentityBody);
    }

    private async Task<IResult> GetHistoryAsync(HttpContext context, CancellationToken cancellationToken)
    {
        await AuthenticateAsync(context, cancellationToken).ConfigureAwait(false);
        var target = await TargetAsync(context, cancellationToken).ConfigureAwait(false);
        return Json(JwsBody.From(target.Graph.Operations), RestJsonContext.Default.ListJwsBody);
    }

    private async Task<IResult> AppendHistoryAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var caller = await AuthenticateAsync(context, cancellationToken).ConfigureAwait(false);
        var target = await TargetAsync(context, cancellationToken).ConfigureAwait(false);
        RequireSelf(caller, target, "append to its history");
        var body = await ReadBodyAsync(context, cancellationToken).ConfigureAwait(false);
        var operation = SignatureGraph.ParseOperation(System.Text.Encoding.UTF8.GetString(body));
        await registry.AppendAsync(target, operation, cancellationToken).ConfigureAwait(false);
        return Ok();
    }

    private async Task<IResult> RegisterUserAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var client = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (!rateLimits.Registrations.TryAcquire(client, out var retryAfter))
        {
            throw ApiException.RateLimited(retryAfter);
        }

        var body = await ReadObjectAsync(context, RestJsonContext.Default.RegisterIdentityBody, cancellationToken).ConfigureAwait(false);
        var graph = LoadHistory(body.History);
        var identity = await registry.RegisterUserAsync(graph, body.Id, cancellationToken).ConfigureAwait(false);
        return Results.Json(new IdBody(identity.Id), RestJsonContext.Default.IdBody);
    }

    private async Task<IResult> CreateAppAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var token = TokenAuthenticator.BearerToken(context.Request.Headers.Authorization);
        if (!adminToken.Matches(token))
        {
            if (token is not null && await IsIdentityTokenAsync(token, cancellationToken).ConfigureAwait(false))
            {
                throw ApiException.Forbidden("Only the operator (with the admin token) may create apps.");
            }

            throw ApiException.Unauthorized("Creating an app needs the operator's admin token: 'Authorization: Bearer <admin token>'.");
        }

        var body = await ReadObjectAsync(context, RestJsonContext.Default.CreateAppBody, cancellationToken).ConfigureAwait(false);
        var name = Limit(body.Name, "name", MaxNameLength);
        if (string.IsNullOrWhiteSpace(name))
        {
            throw ApiException.BadRequest("'name' is required: the app's display name.");
        }

        var image = Limit(body.Image, "image", MaxImageLength);
        var graph = LoadHistory(body.History);
        var app = await registry.RegisterAppAsync(name.Trim(), string.IsNullOrWhiteSpace(image) ? null : image, graph, cancellationToken).ConfigureAwait(false);
        return Results.Json(new IdBody(app.Id), RestJsonContext.Default.IdBody);
    }

    // ---- devices and one-time keys ----

    private async Task<IResult> ListDevicesAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var caller = await AuthenticateAsync(context, cancellationToken).ConfigureAwait(false);
        var target = await TargetAsync(context, cancellationToken).ConfigureAwait(false);
        await RequireReachAsync(caller, target, cancellationToken).ConfigureAwait(false);
        var active = await devices.ListActiveAsync(target.Id, cancellationToken).ConfigureAwait(false);
        return Results.Json(active, RestJsonContext.Default.IReadOnlyListString);
    }

    private async Task<IResult> AddDeviceAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var caller = await AuthenticateAsync(context, cancellationToken).ConfigureAwait(false);
        var target = await TargetAsync(context, cancellationToken).ConfigureAwait(false);
        RequireSelf(caller, target, "register its devices");
        var body = await ReadObjectAsync(context, RestJsonContext.Default.DeviceBody, cancellationToken).ConfigureAwait(false);
        var deviceId = Limit(body.Id, "id", SelfIds.MaxDeviceIdLength + 1);
        if (!SelfIds.IsDeviceId(deviceId))
        {
            throw ApiException.BadRequest("'id' must be a device id: 1-64 characters of [A-Za-z0-9_.-].");
        }

        if (target.Graph.CurrentDeviceKey(deviceId!) is null)
        {
            throw ApiException.BadRequest($"The history of {target.Id} holds no current key for device '{deviceId}': append a key.add operation first.");
        }

        var platform = Limit(body.Platform, "platform", MaxPlatformLength);
        await devices.ActivateAsync(target.Id, deviceId!, platform, cancellationToken).ConfigureAwait(false);
        return Ok();
    }

    private async Task<IResult> RemoveDeviceAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var caller = await AuthenticateAsync(context, cancellationToken).ConfigureAwait(false);
        var target = await TargetAsync(context, cancellationToken).ConfigureAwait(false);
        RequireSelf(caller, target, "remove its devices");
        var deviceId = DeviceRouteValue(context);
        if (!await devices.DeactivateAsync(target.Id, deviceId, cancellationToken).ConfigureAwait(false))
        {
            throw ApiException.NotFound($"{target.Id} has no active device '{deviceId}'.");
        }

        return Ok();
    }

    private async Task<IResult> PopOneTimeKeyAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var caller = await AuthenticateAsync(context, cancellationToken).ConfigureAwait(false);
        var target = await TargetAsync(context, cancellationToken).ConfigureAwait(false);
        await RequireReachAsync(caller, target, cancellationToken).ConfigureAwait(false);
        var deviceId = await ActiveDeviceAsync(context, target, cancellationToken).ConfigureAwait(false);
        var key = await oneTimeKeys.PopAsync(target.Id, deviceId, cancellationToken).ConfigureAwait(false)
            ?? throw ApiException.NotFound($"Device '{deviceId}' of {target.Id} has no one-time keys left.", ErrorCodes.NoOneTimeKeys);
        return Results.Json(key, RestJsonContext.Default.OneTimeKey);
    }

    private async Task<IResult> AddOneTimeKeysAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var caller = await AuthenticateAsync(context, cancellationToken).ConfigureAwait(false);
        var target = await TargetAsync(context, cancellationToken).ConfigureAwait(false);
        RequireSelf(caller, target, "publish its one-time keys");
        var deviceId = await ActiveDeviceAsync(context, target, cancellationToken).ConfigureAwait(false);
        using var document = ParseJson(await ReadBodyAsync(context, cancellationToken).ConfigureAwait(false));
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.BadRequest("The body must be a JSON array of {\"id\",\"key\"} objects.");
        }

        var count = root.GetArrayLength();
        if (count > options.MaxOneTimeKeysPerUpload)
        {
            throw ApiException.TooLarge($"At most {options.MaxOneTimeKeysPerUpload} one-time keys may be sent in one call; this one has {count}.");
        }

        var keys = new List<OneTimeKey>(count);
        foreach (var element in Bind(root, RestJsonContext.Default.ListOneTimeKey))
        {
            if (element is null)
            {
                throw ApiException.BadRequest($"One-time key {keys.Count} is not an object.");
            }

            var keyId = Limit(element.Id, "id", MaxKeyFieldLength);
            var key = Limit(element.Key, "key", MaxKeyFieldLength);
            if (string.IsNullOrEmpty(keyId) || string.IsNullOrEmpty(key))
            {
                throw ApiException.BadRequest($"One-time key {keys.Count} needs a non-empty string 'id' and 'key'.");
            }

            CheckOneTimeKey(keys.Count, keyId, key);

            keys.Add(new OneTimeKey(keyId, key));
        }

        if (!await oneTimeKeys.AddAsync(target.Id, deviceId, keys, options.MaxOneTimeKeysHeld, cancellationToken).ConfigureAwait(false))
        {
            throw ApiException.Conflict(
                $"Device '{deviceId}' may hold at most {options.MaxOneTimeKeysHeld} one-time keys; these would exceed that.",
                ErrorCodes.TooManyKeys);
        }

        return Ok();
    }

    // ---- connections (spec §7) ----

    private async Task<IResult> ListConnectionsAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var caller = await AuthenticateAsync(context, cancellationToken).ConfigureAwait(false);
        var target = await TargetAsync(context, cancellationToken).ConfigureAwait(false);
        RequireSelf(caller, target, "list its connections");
        var permits = await connections.ListAsync(target.Id, options.TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        var body = permits.Select(static p => new ConnectionBody(p.Permit.Source, AclVerifier.Format(p.Permit.Expires))).ToList();
        return Results.Json(body, RestJsonContext.Default.ListConnectionBody);
    }

    private async Task<IResult> PermitAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var caller = await AuthenticateAsync(context, cancellationToken).ConfigureAwait(false);
        var target = await TargetAsync(context, cancellationToken).ConfigureAwait(false);
        RequireSelf(caller, target, "store its connections");
        var body = await ReadBodyAsync(context, cancellationToken).ConfigureAwait(false);
        var now = options.TimeProvider.GetUtcNow();
        var permit = AclVerifier.Verify(body, target, AclVerifier.PermitType, now, options.TokenClockSkew);
        if (permit.AclExpires <= now)
        {
            throw ApiException.BadRequest($"The permit's acl_exp ({AclVerifier.Format(permit.AclExpires)}) has already passed.", ErrorCodes.InvalidPermit);
        }

        var stored = await connections.PutAsync(new StoredPermit(target.Id, new ConnectionPermit(permit.Source, permit.AclExpires), permit.IssuedAt), cancellationToken).ConfigureAwait(false);
        if (stored == PutPermitResult.Stale)
        {
            throw ApiException.Conflict($"A newer permit or revoke for '{permit.Source}' is already stored.");
        }

        return Ok();
    }

    private async Task<IResult> RevokeAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var caller = await AuthenticateAsync(context, cancellationToken).ConfigureAwait(false);
        var target = await TargetAsync(context, cancellationToken).ConfigureAwait(false);
        RequireSelf(caller, target, "revoke its connections");
        var source = context.Request.RouteValues["source"] as string ?? string.Empty;
        if (source != "*" && !SelfIds.IsIdentityId(source))
        {
            throw ApiException.BadRequest("The source must be an app id, a Self ID or '*'.");
        }

        var body = await ReadBodyAsync(context, cancellationToken).ConfigureAwait(false);
        var now = options.TimeProvider.GetUtcNow();
        var revoke = AclVerifier.Verify(body, target, AclVerifier.RevokeType, now, options.TokenClockSkew);
        if (!string.Equals(revoke.Source, source, StringComparison.Ordinal))
        {
            throw ApiException.BadRequest($"The revoke names '{revoke.Source}', not '{source}' as the path does.", ErrorCodes.InvalidPermit);
        }

        return await connections.RevokeAsync(target.Id, source, revoke.IssuedAt, now, cancellationToken).ConfigureAwait(false) switch
        {
            RevokePermitResult.Revoked => Ok(),
            RevokePermitResult.NotFound => throw ApiException.NotFound($"{target.Id} has no connection with '{source}' in force."),
            _ => throw ApiException.Conflict($"The permit for '{source}' is newer than this revoke."),
        };
    }

    // ---- helpers ----

    private async Task<Caller> AuthenticateAsync(HttpContext context, CancellationToken cancellationToken) =>
        await authenticator.AuthenticateAsync(TokenAuthenticator.BearerToken(context.Request.Headers.Authorization), cancellationToken).ConfigureAwait(false);

    private async Task<bool> IsIdentityTokenAsync(string token, CancellationToken cancellationToken)
    {
        try
        {
            await authenticator.AuthenticateAsync(token, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ApiException)
        {
            return false;
        }
    }

    private async Task<RegisteredIdentity> TargetAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var id = context.Request.RouteValues["id"] as string;
        if (!SelfIds.IsIdentityId(id))
        {
            throw ApiException.BadRequest("The path must name a Self ID (10-11 digits) or an app id (32 lowercase hex characters).");
        }

        return await registry.GetAsync(id!, cancellationToken).ConfigureAwait(false)
            ?? throw ApiException.NotFound($"No identity {id} is registered.");
    }

    private static string DeviceRouteValue(HttpContext context)
    {
        var deviceId = context.Request.RouteValues["did"] as string;
        return SelfIds.IsDeviceId(deviceId)
            ? deviceId!
            : throw ApiException.BadRequest("The path must name a device id: 1-64 characters of [A-Za-z0-9_.-].");
    }

    private async Task<string> ActiveDeviceAsync(HttpContext context, RegisteredIdentity target, CancellationToken cancellationToken)
    {
        var deviceId = DeviceRouteValue(context);
        return await devices.IsActiveAsync(target.Id, deviceId, cancellationToken).ConfigureAwait(false)
            ? deviceId
            : throw ApiException.NotFound($"{target.Id} has no active device '{deviceId}'.");
    }

    private static void RequireSelf(Caller caller, RegisteredIdentity target, string what)
    {
        if (!string.Equals(caller.Id, target.Id, StringComparison.Ordinal))
        {
            throw ApiException.Forbidden($"Only {target.Id} itself may {what}.");
        }
    }

    /// <summary>Devices and one-time keys of a person are visible to the person and to those the person permits (spec §7).</summary>
    private async Task RequireReachAsync(Caller caller, RegisteredIdentity target, CancellationToken cancellationToken)
    {
        if (string.Equals(caller.Id, target.Id, StringComparison.Ordinal) || target.IsApp)
        {
            return;
        }

        if (!await connections.IsPermittedAsync(target.Id, caller.Id, options.TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false))
        {
            throw ApiException.Forbidden(
                $"recipient {target.Id} has not connected to {caller.Id}: the user must connect to {caller.Id} first.",
                ErrorCodes.NotConnected);
        }
    }

    private async Task<byte[]> ReadBodyAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var limit = options.MaxRequestBytes;
        if (context.Request.ContentLength > limit)
        {
            throw ApiException.TooLarge($"The body is larger than {limit} bytes.");
        }

        var body = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var memory = body.GetMemory(4096);
            var read = await context.Request.Body.ReadAsync(memory, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return body.WrittenSpan.ToArray();
            }

            body.Advance(read);
            if (body.WrittenCount > limit)
            {
                throw ApiException.TooLarge($"The body is larger than {limit} bytes.");
            }
        }
    }

    private static JsonDocument ParseJson(byte[] body)
    {
        try
        {
            return Self.Protocol.Encoding.StrictJson.Parse(body, 32);
        }
        catch (JsonException ex)
        {
            // The reason (a repeated member, a lone surrogate, a syntax error) helps the client; it holds no secret.
            throw ApiException.BadRequest("The body is not valid JSON: " + ex.Message);
        }
    }

    /// <summary>Reads the body strictly (<see cref="ParseJson"/>) and binds the JSON object to <typeparamref name="T"/>.</summary>
    private async Task<T> ReadObjectAsync<T>(HttpContext context, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        using var document = ParseJson(await ReadBodyAsync(context, cancellationToken).ConfigureAwait(false));
        return document.RootElement.ValueKind == JsonValueKind.Object
            ? Bind(document.RootElement, typeInfo)
            : throw ApiException.BadRequest("The body must be a JSON object.");
    }

    /// <summary>Binds strictly parsed JSON to a REST body; a member of the wrong type is a 400.</summary>
    private static T Bind<T>(JsonElement element, JsonTypeInfo<T> typeInfo)
    {
        try
        {
            return element.Deserialize(typeInfo) ?? throw ApiException.BadRequest("The body must not be null.");
        }
        catch (JsonException ex)
        {
            // The serializer names the member and the type it expected (e.g. "Path: $.name"); it holds no secret.
            throw ApiException.BadRequest("The body does not have the expected shape: " + ex.Message);
        }
    }

    private static string? Limit(string? text, string name, int maxLength) =>
        text is null || text.Length <= maxLength ? text : throw ApiException.BadRequest($"'{name}' is longer than {maxLength} characters.");

    /// <summary>
    /// A one-time key is an Olm key: its id the base64 of a 4-byte key id (libolm), its key the base64 of a 32-byte
    /// Curve25519 public key that is not one of the small-order points (all zero, one…) that would make the shared
    /// secret predictable.
    /// </summary>
    private static void CheckOneTimeKey(int index, string keyId, string key)
    {
        if (!Self.Protocol.Encoding.Base64Codec.TryDecode(keyId, out var id) || id.Length != 4)
        {
            throw ApiException.BadRequest($"One-time key {index}: 'id' must be the base64 of a 4-byte Olm key id.");
        }

        if (!Self.Protocol.Encoding.Base64Codec.TryDecode(key, out var publicKey) || publicKey.Length != 32)
        {
            throw ApiException.BadRequest($"One-time key {index}: 'key' must be the base64 of a 32-byte Curve25519 public key.");
        }

        if (IsSmallOrder(publicKey))
        {
            throw ApiException.BadRequest($"One-time key {index}: 'key' is a small-order Curve25519 point, not a usable public key.");
        }
    }

    /// <summary>The Curve25519 u-coordinates of small order (and their non-canonical twins), as libsodium refuses them.</summary>
    private static bool IsSmallOrder(ReadOnlySpan<byte> key)
    {
        ReadOnlySpan<byte> blocklist =
        [
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
            0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57,
            0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
            0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
            0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ];

        // The top bit is ignored by X25519, so compare without it.
        Span<byte> masked = stackalloc byte[32];
        key.CopyTo(masked);
        masked[31] &= 0x7f;
        for (var offset = 0; offset < blocklist.Length; offset += 32)
        {
            if (masked.SequenceEqual(blocklist.Slice(offset, 32)))
            {
                return true;
            }
        }

        return false;
    }

    private static SignatureGraph LoadHistory(List<JwsBody>? history)
    {
        if (history is null || history.Count == 0)
        {
            throw ApiException.BadRequest("'history' must be a non-empty array of signed operations, starting with the root operation.");
        }

        var graph = SignatureGraph.Load(JwsBody.ToOperations(history));
        IdentityRegistry.CheckDeviceIds(graph);
        return graph;
    }

    private static IResult Ok() => Json(EmptyObject);

    /// <summary>A body serialized to bytes first, so every 200 has the same <c>Content-Type</c>.</summary>
    private static IResult Json<T>(T body, JsonTypeInfo<T> typeInfo) => Json(JsonSerializer.SerializeToUtf8Bytes(body, typeInfo));

    private static IResult Json(byte[] body) => Results.Bytes(body, "application/json");
}
