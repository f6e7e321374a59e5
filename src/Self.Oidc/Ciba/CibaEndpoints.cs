using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using Self.Oidc.Hosting;
using Self.Oidc.Keys;
using Self.Oidc.Storage;
using Self.Protocol.Identifiers;
using Self.Sdk.Authentication;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Self.Oidc.Ciba;

/// <summary>
/// CIBA's two requests, after OpenIddict has authenticated the client: the backchannel authentication request
/// (§7: checks, rate limits, the Self request to the user's devices) and the CIBA grant at the token endpoint
/// (§10–11: pending, slow_down, expired, denied, single use, then OpenIddict issues the tokens).
/// </summary>
internal sealed class CibaEndpoints(
    SelfOidcOptions options,
    SelfGateway gateway,
    PingSender pings,
    RateLimiter limiter,
    KeyRing keys,
    IssuerResolver issuer,
    IOpenIddictApplicationManager applications,
    IDbContextFactory<OidcDbContext> databases,
    ILoggerFactory loggers)
{
    private const int MaxBindingMessageLength = 64;
    private const int MaxNotificationTokenLength = 1024;
    private const int SlowDownStep = 5;
    private readonly ILogger _audit = loggers.CreateLogger(Audit.Category);
    private readonly TimeProvider _time = options.TimeProvider;

    public async Task<IResult> BackchannelAsync(HttpContext context)
    {
        var request = context.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenIddict request is missing: the backchannel endpoint runs behind OpenIddict.");
        if (request.GrantType != CibaModes.BackchannelGrantType || request.ClientId is not { } clientId)
        {
            return Error(Errors.InvalidRequest, "Not a backchannel authentication request.");
        }

        var application = await applications.FindByClientIdAsync(clientId, context.RequestAborted).ConfigureAwait(false)
            ?? throw new InvalidOperationException("OpenIddict authenticated a client that does not exist.");
        var properties = await applications.GetPropertiesAsync(application, context.RequestAborted).ConfigureAwait(false);
        var mode = properties.TryGetValue(CibaModes.ModeProperty, out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : CibaModes.Poll;
        var parameters = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["scope"] = request.Scope,
            ["login_hint"] = request.LoginHint,
            ["id_token_hint"] = request.IdTokenHint,
            ["login_hint_token"] = (string?)request["login_hint_token"],
            ["binding_message"] = (string?)request["binding_message"],
            ["requested_expiry"] = request["requested_expiry"]?.ToString(),
            ["client_notification_token"] = (string?)request["client_notification_token"],
        };

        if ((string?)request.Request is { } requestObject)
        {
            (Dictionary<string, string?>? claims, string? problem) = await ReadRequestObjectAsync(application, clientId, requestObject, context.RequestAborted).ConfigureAwait(false);
            if (claims is null)
            {
                return Refuse(clientId, "-", Errors.InvalidRequestObject, problem!);
            }

            // §7.1.1: with a signed request, the authentication request parameters are those inside it.
            foreach (var name in parameters.Keys.ToList())
            {
                parameters[name] = claims.TryGetValue(name, out var value) ? value : null;
            }
        }

        var scopes = (parameters["scope"] ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (!scopes.Contains(Scopes.OpenId, StringComparer.Ordinal))
        {
            return Refuse(clientId, "-", Errors.InvalidScope, "The scope must include openid.");
        }

        var hints = new[] { "login_hint", "id_token_hint", "login_hint_token" }.Count(h => !string.IsNullOrEmpty(parameters[h]));
        if (hints != 1)
        {
            return Refuse(clientId, "-", Errors.InvalidRequest, "Give exactly one of login_hint (the user's Self ID) and id_token_hint.");
        }

        if (parameters["login_hint_token"] is { Length: > 0 })
        {
            return Refuse(clientId, "-", Errors.InvalidRequest, "login_hint_token is not supported: give login_hint (the user's Self ID) or id_token_hint.");
        }

        string selfId;
        if (parameters["login_hint"] is { Length: > 0 } loginHint)
        {
            selfId = loginHint.Trim();
        }
        else
        {
            var fromToken = await ReadIdTokenHintAsync(parameters["id_token_hint"]!).ConfigureAwait(false);
            if (fromToken is null)
            {
                return Refuse(clientId, "-", Errors.InvalidRequest, "id_token_hint is not an ID token this provider issued.");
            }

            selfId = fromToken;
        }

        if (!SelfIds.IsUserId(selfId))
        {
            return Refuse(clientId, selfId, "unknown_user_id", $"'{selfId}' is not a Self ID (10 or 11 digits, such as 1112223334).");
        }

        var binding = parameters["binding_message"];
        if (binding is not null && (binding.Length is 0 or > MaxBindingMessageLength || binding.Any(char.IsControl)))
        {
            return Refuse(clientId, selfId, "invalid_binding_message", $"binding_message must be 1 to {MaxBindingMessageLength} printable characters.");
        }

        var expiry = options.DefaultRequestExpiry;
        if (parameters["requested_expiry"] is { } requested)
        {
            if (!int.TryParse(requested, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds < 1)
            {
                return Refuse(clientId, selfId, Errors.InvalidRequest, "requested_expiry must be a positive number of seconds.");
            }

            expiry = TimeSpan.FromSeconds(Math.Min(seconds, options.MaxRequestExpiry.TotalSeconds));
        }

        var notificationToken = parameters["client_notification_token"];
        Uri? notificationEndpoint = null;
        if (mode == CibaModes.Ping)
        {
            if (string.IsNullOrEmpty(notificationToken) || notificationToken.Length > MaxNotificationTokenLength)
            {
                return Refuse(clientId, selfId, Errors.InvalidRequest, $"A ping client must send client_notification_token (1 to {MaxNotificationTokenLength} characters).");
            }

            if (!properties.TryGetValue(CibaModes.NotificationEndpointProperty, out var endpoint) || !Uri.TryCreate(endpoint.GetString(), UriKind.Absolute, out notificationEndpoint))
            {
                return Refuse(clientId, selfId, Errors.UnauthorizedClient, "This ping client has no registered client_notification_endpoint.");
            }
        }

        if (limiter.TryAcquire("client:" + clientId, options.RequestsPerClientPerMinute) is { } clientWait)
        {
            return TooMany(clientId, selfId, clientWait, "This client has made too many backchannel requests; retry later.");
        }

        if (limiter.TryAcquire("user:" + selfId, options.RequestsPerUserPerMinute) is { } userWait)
        {
            return TooMany(clientId, selfId, userWait, $"Too many sign-in requests for user {selfId}; retry later.");
        }

        var displayName = await applications.GetDisplayNameAsync(application, context.RequestAborted).ConfigureAwait(false) ?? clientId;
        var authReqId = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var now = _time.GetUtcNow();
        var entity = new CibaRequestEntity
        {
            Id = Guid.NewGuid().ToString("N"),
            AuthReqIdHash = Hash(authReqId),
            ClientId = clientId,
            SelfId = selfId,
            // Replaced by the SDK's signed conversation id once sent (the row must exist before the answer can come).
            ConversationId = "unsent:" + Guid.NewGuid().ToString("N"),
            Scopes = string.Join(' ', scopes.Distinct(StringComparer.Ordinal)),
            BindingMessage = binding,
            Status = CibaStatus.Pending,
            CreatedAt = now,
            ExpiresAt = now + expiry,
            Interval = options.PollingInterval,
            DeliveryMode = mode,
        };

        await using (var db = await databases.CreateDbContextAsync(context.RequestAborted).ConfigureAwait(false))
        {
            db.CibaRequests.Add(entity);
            await db.SaveChangesAsync(context.RequestAborted).ConfigureAwait(false);
        }

        if (notificationEndpoint is not null)
        {
            pings.Register(entity.Id, new PingTarget(clientId, notificationEndpoint, notificationToken!, authReqId));
        }

        AuthenticationResponse? failure;
        string? cid = null;
        try
        {
            (cid, failure) = await gateway.SendAsync(selfId, expiry, binding, $"Sign in to {displayName}", context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is Protocol.SelfException or HttpRequestException or TimeoutException)
        {
            failure = new AuthenticationResponse(AuthenticationStatus.Errored, selfId, null, entity.ConversationId, ex.Message);
        }

        if (failure is not null)
        {
            pings.Forget(entity.Id);
            await using var db = await databases.CreateDbContextAsync(CancellationToken.None).ConfigureAwait(false);
            await db.CibaRequests.Where(r => r.Id == entity.Id).ExecuteDeleteAsync(CancellationToken.None).ConfigureAwait(false);
            var (error, description) = Describe(failure, selfId, gateway.Client.Options.AppId, displayName);
            return Refuse(clientId, selfId, error, description);
        }

        await using (var db = await databases.CreateDbContextAsync(CancellationToken.None).ConfigureAwait(false))
        {
            await db.CibaRequests.Where(r => r.Id == entity.Id)
                .ExecuteUpdateAsync(u => u.SetProperty(r => r.ConversationId, cid!), CancellationToken.None).ConfigureAwait(false);
        }

        Audit.BackchannelRequest(_audit, clientId, selfId, entity.Id, mode, entity.ExpiresAt, "sent");
        await gateway.CatchUpAsync(cid!, CancellationToken.None).ConfigureAwait(false);
        return Results.Json(new Dictionary<string, object>
        {
            ["auth_req_id"] = authReqId,
            ["expires_in"] = (int)expiry.TotalSeconds,
            ["interval"] = entity.Interval,
        });
    }

    public async Task<IResult> RedeemAsync(HttpContext context, OpenIddictRequest request)
    {
        var clientId = request.ClientId ?? "-";
        if ((string?)request["auth_req_id"] is not { Length: > 0 } authReqId)
        {
            return Error(Errors.InvalidRequest, "auth_req_id is missing.");
        }

        await using var db = await databases.CreateDbContextAsync(context.RequestAborted).ConfigureAwait(false);
        var hash = Hash(authReqId);
        var entity = await db.CibaRequests.FirstOrDefaultAsync(r => r.AuthReqIdHash == hash, context.RequestAborted).ConfigureAwait(false);
        if (entity is null || entity.ClientId != clientId)
        {
            // Another client's auth_req_id is as unknown to this client as one never issued.
            Audit.TokenRequest(_audit, clientId, entity?.Id ?? "-", Errors.InvalidGrant);
            return Error(Errors.InvalidGrant, "auth_req_id is unknown or was issued to another client.");
        }

        var now = _time.GetUtcNow();
        string? error = null;
        string? description = null;
        if (entity.Status == CibaStatus.Redeemed)
        {
            (error, description) = (Errors.InvalidGrant, "auth_req_id was already used.");
        }
        else if (now >= entity.ExpiresAt || entity.Status == CibaStatus.Expired)
        {
            (error, description) = (Errors.ExpiredToken, "auth_req_id has expired: make a new backchannel authentication request.");
        }
        else if (entity.Status == CibaStatus.Rejected)
        {
            (error, description) = (Errors.AccessDenied, "The user declined the request on their device.");
        }
        else if (entity.Status == CibaStatus.Failed)
        {
            (error, description) = ("transaction_failed", "The request could not be delivered to the user's devices.");
        }
        else if (entity.Status == CibaStatus.Pending)
        {
            var tooSoon = entity.LastPolledAt is { } last && now - last < TimeSpan.FromSeconds(entity.Interval);
            entity.LastPolledAt = now;
            if (tooSoon)
            {
                entity.Interval += SlowDownStep;
                (error, description) = (Errors.SlowDown, $"Polling too fast: wait at least {entity.Interval} seconds between requests.");
            }
            else
            {
                (error, description) = (Errors.AuthorizationPending, "The user has not answered yet.");
            }

            await db.SaveChangesAsync(context.RequestAborted).ConfigureAwait(false);
        }

        if (error is not null)
        {
            Audit.TokenRequest(_audit, clientId, entity.Id, error);
            return Error(error, description!, error == Errors.SlowDown ? entity.Interval : null);
        }

        // Single use, also across instances: only one redemption moves accepted to redeemed.
        var won = await db.CibaRequests
            .Where(r => r.Id == entity.Id && r.Status == CibaStatus.Accepted)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, CibaStatus.Redeemed), context.RequestAborted)
            .ConfigureAwait(false);
        if (won == 0)
        {
            Audit.TokenRequest(_audit, clientId, entity.Id, Errors.InvalidGrant);
            return Error(Errors.InvalidGrant, "auth_req_id was already used.");
        }

        Audit.TokenRequest(_audit, clientId, entity.Id, "tokens_issued");
        var principal = Principals.ForUser(entity.SelfId, entity.AuthenticatedAt ?? now, entity.Scopes.Split(' '));
        return Results.SignIn(principal, authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    internal static string Hash(string authReqId) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(authReqId)));

    internal static IResult Error(string error, string description, int? interval = null)
    {
        var properties = new AuthenticationProperties(new Dictionary<string, string?>
        {
            [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
            [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
        });
        if (interval is { } seconds)
        {
            properties.SetParameter("interval", seconds);
        }

        return Results.Forbid(properties, [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
    }

    private static (string Error, string Description) Describe(AuthenticationResponse failure, string selfId, string appId, string displayName) => failure switch
    {
        { Status: AuthenticationStatus.Unauthorized } => (Errors.AccessDenied,
            $"User {selfId} has not connected to this provider's Self app ({appId}): the user must connect to it in their Self app before {displayName} can ask them to sign in."),
        { Reason: { } reason } when reason.Contains("No user with Self ID", StringComparison.Ordinal) => ("unknown_user_id", $"No user with Self ID {selfId} exists on this network."),
        _ => ("transaction_failed", "The request could not be sent to the user's devices: " + failure.Reason),
    };

    private IResult Refuse(string clientId, string selfId, string error, string description)
    {
        Audit.BackchannelRefused(_audit, clientId, selfId, error);
        return Error(error, description);
    }

    private IResult TooMany(string clientId, string selfId, TimeSpan wait, string description)
    {
        Audit.BackchannelRefused(_audit, clientId, selfId, "too_many_requests");
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        return new WithRetryAfter(
            Results.Json(
                new Dictionary<string, string> { ["error"] = "too_many_requests", ["error_description"] = description },
                statusCode: StatusCodes.Status429TooManyRequests),
            seconds);
    }

    private async Task<(Dictionary<string, string?>? Claims, string? Problem)> ReadRequestObjectAsync(
        object application, string clientId, string jwt, CancellationToken cancellationToken)
    {
        var jwks = await applications.GetJsonWebKeySetAsync(application, cancellationToken).ConfigureAwait(false);
        if (jwks is null || jwks.Keys.Count == 0)
        {
            return (null, "Signed request objects need a key registered for the client (self oidc client add --jwks-file).");
        }

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(jwt, new TokenValidationParameters
        {
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidIssuer = clientId,
            ValidAudience = issuer.Issuer.AbsoluteUri,
            ValidAudiences = [issuer.Issuer.AbsoluteUri, issuer.Issuer.AbsoluteUri.TrimEnd('/')],
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.EcdsaSha256],
            LifetimeValidator = (notBefore, expires, _, _) =>
            {
                var now = _time.GetUtcNow().UtcDateTime;
                return expires is { } exp && exp.AddMinutes(1) > now && (notBefore is not { } nbf || nbf.AddMinutes(-1) <= now);
            },
        }).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return (null, "The request object is not valid: " + (result.Exception?.Message ?? "signature, issuer, audience or lifetime check failed"));
        }

        var token = (JsonWebToken)result.SecurityToken;
        var claims = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var name in new[] { "scope", "login_hint", "id_token_hint", "login_hint_token", "binding_message", "requested_expiry", "client_notification_token" })
        {
            if (token.TryGetPayloadValue<object>(name, out var value) && value is not null)
            {
                claims[name] = Convert.ToString(value, CultureInfo.InvariantCulture);
            }
        }

        return (claims, null);
    }

    private async Task<string?> ReadIdTokenHintAsync(string idToken)
    {
        // An expired ID token is a fine hint (CIBA §7.1): only who signed it, for whom, matter.
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(idToken, new TokenValidationParameters
        {
            IssuerSigningKeys = keys.Published,
            ValidIssuers = [issuer.Issuer.AbsoluteUri, issuer.Issuer.AbsoluteUri.TrimEnd('/')],
            ValidateAudience = false,
            ValidateLifetime = false,
        }).ConfigureAwait(false);
        return result.IsValid && result.ClaimsIdentity.FindFirst(Claims.Subject)?.Value is { } sub ? sub : null;
    }

    private sealed class WithRetryAfter(IResult inner, int seconds) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }
}

/// <summary>The principal of an authenticated Self user, as OpenIddict turns it into tokens.</summary>
internal static class Principals
{
    /// <summary>
    /// <c>amr</c> (RFC 8176): the user's device signed the answer with its key (<c>swk</c>) after the user approved on it
    /// (<c>user</c>).
    /// </summary>
    public static readonly string[] Amr = ["swk", "user"];

    /// <summary>
    /// <c>amr</c> of a sign-in on the login page: besides <see cref="Amr"/>, <c>mca</c> (multiple-channel
    /// authentication), since the browser and the device were tied together over two channels — the number shown on the
    /// page and typed on the device (push, number matching on), or the QR code on the page scanned by the device.
    /// </summary>
    public static string[] LoginAmr(string? method) => method switch
    {
        "push" or "qr" => [.. Amr, "mca"],
        _ => Amr,
    };

    public static ClaimsPrincipal ForUser(string selfId, DateTimeOffset authTime, IEnumerable<string> scopes, IEnumerable<string>? amrs = null)
    {
        var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
        identity.AddClaim(new Claim(Claims.Subject, selfId));
        identity.AddClaim(new Claim(Claims.AuthenticationTime, authTime.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), ClaimValueTypes.Integer64));
        foreach (var amr in amrs ?? Amr)
        {
            identity.AddClaim(new Claim(Claims.AuthenticationMethodReference, amr));
        }

        identity.SetScopes(scopes);
        identity.SetDestinations(static _ => [Destinations.AccessToken, Destinations.IdentityToken]);
        return new ClaimsPrincipal(identity);
    }
}
