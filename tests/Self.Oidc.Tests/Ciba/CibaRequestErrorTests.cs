using System.Text.Json;
using Duende.IdentityModel;
using Duende.IdentityModel.Client;
using Self.Device;
using Self.Oidc.Clients;
using Self.Oidc.Tests.Infrastructure;

namespace Self.Oidc.Tests.Ciba;

/// <summary>Every refusal of the backchannel endpoint, and client authentication in its three methods.</summary>
[Collection(OidcCollection.Name)]
public sealed class CibaRequestErrorTests(OidcFixture fixture)
{
    [Fact]
    public async Task LoginHintNotASelfId_UnknownUserId()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        var refused = await client.StartAsync("alice@example.com");
        Assert.Equal("unknown_user_id", refused.ErrorCode());
    }

    [Fact]
    public async Task LoginHintNobodyHas_UnknownUserId()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        var refused = await client.StartAsync("9" + Random.Shared.NextInt64(1_000_000_000, 9_999_999_999));
        Assert.Equal("unknown_user_id", refused.ErrorCode());
    }

    [Fact]
    public async Task UserNotConnected_AccessDeniedSayingSo()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        await using var device = await fixture.RegisterUserAsync();
        var refused = await client.StartAsync(device.SelfId);
        Assert.Equal("access_denied", refused.ErrorCode());
        Assert.Contains("has not connected", refused.Description());
        Assert.Contains(fixture.Provider.AppId, refused.Description());
    }

    [Fact]
    public async Task ScopeWithoutOpenId_InvalidScope()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        Assert.Equal("invalid_scope", (await client.StartAsync("1112223334", scope: "profile")).ErrorCode());
    }

    [Fact]
    public async Task NoHintOrTwoHints_InvalidRequest()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        Assert.Equal("invalid_request", (await client.StartAsync(null)).ErrorCode());
        Assert.Equal("invalid_request", (await client.StartAsync("1112223334", idTokenHint: "x.y.z")).ErrorCode());
    }

    [Fact]
    public async Task BindingMessageTooLong_InvalidBindingMessage()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        Assert.Equal("invalid_binding_message", (await client.StartAsync("1112223334", bindingMessage: new string('x', 65))).ErrorCode());
    }

    [Fact]
    public async Task RequestedExpiryNotPositive_InvalidRequest()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        Assert.Equal("invalid_request", (await client.StartAsync("1112223334", requestedExpiry: 0)).ErrorCode());
    }

    [Fact]
    public async Task WrongSecretOrUnknownClient_InvalidClient()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        var wrong = await client.StartAsync("1112223334", secret: "not-the-secret");
        Assert.Equal("invalid_client", wrong.ErrorCode());
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, wrong.HttpStatusCode);
        Assert.Equal("invalid_client", (await client.RedeemAsync("x", secret: "not-the-secret")).ErrorCode());

        var unknown = new CibaClient(fixture, new Clients.OidcClientCreated("oidc_nobody", "secret"));
        Assert.Equal("invalid_client", (await unknown.StartAsync("1112223334")).ErrorCode());
    }

    [Fact]
    public async Task ClientSecretPost_Accepted()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        await using var device = await fixture.ConnectedUserAsync(ConsentPolicies.AlwaysAccept);
        var started = await client.StartAsync(device.SelfId, style: ClientCredentialStyle.PostBody);
        Assert.False(started.IsError, started.ErrorCode() + " " + started.Description());
        var tokens = await CibaPollTests.PollUntilAnsweredAsync(fixture, client, started.AuthenticationRequestId);
        Assert.NotNull(tokens.IdentityToken);
    }

    [Fact]
    public async Task PrivateKeyJwt_Accepted_ReplayedAssertionRefused()
    {
        var (key, jwks) = Tokens.NewClientKey();
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync(jwks: jwks));
        await using var device = await fixture.ConnectedUserAsync(ConsentPolicies.AlwaysAccept);

        var assertion = Assertion(key, client.ClientId, Guid.NewGuid().ToString());
        var started = await client.StartAsync(device.SelfId, assertion: assertion);
        Assert.False(started.IsError, started.ErrorCode() + " " + started.Description());

        var replayed = await client.StartAsync(device.SelfId, assertion: assertion);
        Assert.Equal("invalid_client", replayed.ErrorCode());
        Assert.Contains("already used", replayed.Description());

        // A key the client did not register.
        var (otherKey, _) = Tokens.NewClientKey();
        Assert.Equal("invalid_client", (await client.StartAsync(device.SelfId, assertion: Assertion(otherKey, client.ClientId, Guid.NewGuid().ToString()))).ErrorCode());

        await fixture.WaitAnsweredAsync(started.AuthenticationRequestId!);
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        var tokens = await client.RedeemAsync(started.AuthenticationRequestId, assertion: Assertion(key, client.ClientId, Guid.NewGuid().ToString()));
        Assert.False(tokens.IsError, tokens.Error + " " + tokens.ErrorDescription);
    }

    [Fact]
    public async Task SignedRequestObject_Accepted_BadSignatureRefused()
    {
        var (key, jwks) = Tokens.NewClientKey();
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync(jwks: jwks));
        await using var device = await fixture.ConnectedUserAsync();

        var claims = new Dictionary<string, object>
        {
            ["iss"] = client.ClientId,
            ["aud"] = fixture.Issuer.AbsoluteUri,
            ["jti"] = Guid.NewGuid().ToString(),
            ["scope"] = "openid",
            ["login_hint"] = device.SelfId,
            ["binding_message"] = "FROM-JWT",
        };
        var started = await client.StartAsync(null, requestObject: Tokens.Sign(key, claims, fixture.Time.GetUtcNow()));
        Assert.False(started.IsError, started.ErrorCode() + " " + started.Description());
        Assert.Equal("FROM-JWT", (await device.NextRequestAsync()).BindingMessage);

        var (otherKey, _) = Tokens.NewClientKey();
        var forged = await client.StartAsync(null, requestObject: Tokens.Sign(otherKey, claims, fixture.Time.GetUtcNow()));
        Assert.Equal("invalid_request_object", forged.ErrorCode());

        // A client that registered no key cannot use request objects.
        var keyless = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        claims["iss"] = keyless.ClientId;
        Assert.Equal("invalid_request_object", (await keyless.StartAsync(null, requestObject: Tokens.Sign(key, claims, fixture.Time.GetUtcNow()))).ErrorCode());
    }

    [Fact]
    public async Task IdTokenHint_AsksTheTokensSubject_ForgedHintRefused()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        await using var device = await fixture.ConnectedUserAsync(ConsentPolicies.AlwaysAccept);
        var first = await client.StartAsync(device.SelfId);
        var tokens = await CibaPollTests.PollUntilAnsweredAsync(fixture, client, first.AuthenticationRequestId);

        var again = await client.StartAsync(null, idTokenHint: tokens.IdentityToken);
        Assert.False(again.IsError, again.Error + " " + again.Description());
        var second = await CibaPollTests.PollUntilAnsweredAsync(fixture, client, again.AuthenticationRequestId);
        Assert.Equal(device.SelfId, (await Tokens.ValidateIdTokenAsync(fixture, second.IdentityToken!, client.ClientId)).Subject);

        var (otherKey, _) = Tokens.NewClientKey();
        var forged = Tokens.Sign(otherKey, new Dictionary<string, object> { ["iss"] = fixture.Issuer.AbsoluteUri, ["sub"] = device.SelfId, ["aud"] = client.ClientId }, fixture.Time.GetUtcNow());
        Assert.Equal("invalid_request", (await client.StartAsync(null, idTokenHint: forged)).ErrorCode());
    }

    [Fact]
    public async Task UserRateLimit_SixthRequestInAMinute_TooManyRequests_ThenAllowedAgain()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        await using var device = await fixture.ConnectedUserAsync();
        for (var i = 0; i < 5; i++)
        {
            var ok = await client.StartAsync(device.SelfId);
            Assert.False(ok.IsError, ok.Error + " " + ok.Description());
        }

        var limited = await client.StartAsync(device.SelfId);
        Assert.Equal("too_many_requests", limited.ErrorCode());
        Assert.Equal((System.Net.HttpStatusCode)429, limited.HttpStatusCode);

        fixture.Time.Advance(TimeSpan.FromSeconds(61));
        Assert.False((await client.StartAsync(device.SelfId)).IsError);
    }

    [Fact]
    public async Task AuditLog_RecordsWhoAskedForWhom_NeverTokensOrSecrets()
    {
        var created = await fixture.AddCibaClientAsync();
        var client = new CibaClient(fixture, created);
        await using var device = await fixture.ConnectedUserAsync(ConsentPolicies.AlwaysAccept);
        var started = await client.StartAsync(device.SelfId);
        var tokens = await CibaPollTests.PollUntilAnsweredAsync(fixture, client, started.AuthenticationRequestId);
        Assert.False(tokens.IsError);

        var lines = fixture.Logs.Lines.Select(l => l.Message).ToList();
        var audit = fixture.Logs.Lines.Where(l => l.Category == "Self.Oidc.Audit").Select(l => l.Message).ToList();
        Assert.Contains(audit, l => l.Contains("backchannel_request", StringComparison.Ordinal) && l.Contains(created.ClientId, StringComparison.Ordinal) && l.Contains(device.SelfId, StringComparison.Ordinal));
        Assert.Contains(audit, l => l.Contains("user_answer", StringComparison.Ordinal) && l.Contains(device.SelfId, StringComparison.Ordinal) && l.Contains("accepted", StringComparison.Ordinal));
        Assert.Contains(audit, l => l.Contains("token_request", StringComparison.Ordinal) && l.Contains("tokens_issued", StringComparison.Ordinal));
        foreach (var secret in new[] { started.AuthenticationRequestId!, created.ClientSecret!, tokens.AccessToken!, tokens.IdentityToken! })
        {
            Assert.DoesNotContain(lines, l => l.Contains(secret, StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// The assertions real clients send: openid-client 6 (oauth4webapi) sets no <c>typ</c>; one made the way Duende's
    /// documentation shows (JsonWebTokenHandler, no token type given) says <c>JWT</c>; draft-ietf-oauth-rfc7523bis
    /// clients say <c>client-authentication+jwt</c>. All three are accepted, and each is still single use.
    /// </summary>
    [Theory]
    [InlineData("client-authentication+jwt")]
    [InlineData("JWT")]
    [InlineData(null)]
    public async Task PrivateKeyJwt_CommonTypHeaders_Accepted_AndReplayRefused(string? typ)
    {
        var (key, jwks) = Tokens.NewClientKey();
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync(jwks: jwks));
        await using var device = await fixture.ConnectedUserAsync(ConsentPolicies.AlwaysAccept);
        var claims = AssertionClaims(client.ClientId, Guid.NewGuid().ToString());
        var jwt = typ is null ? Tokens.SignWithoutType(key, claims, fixture.Time.GetUtcNow()) : Tokens.Sign(key, claims, fixture.Time.GetUtcNow(), typ);
        Assert.Equal(typ, Tokens.HeaderType(jwt));
        var assertion = new ClientAssertion { Type = OidcConstants.ClientAssertionTypes.JwtBearer, Value = jwt };

        var started = await client.StartAsync(device.SelfId, assertion: assertion);
        Assert.False(started.IsError, started.ErrorCode() + " " + started.Description());
        var replayed = await client.StartAsync(device.SelfId, assertion: assertion);
        Assert.Equal("invalid_client", replayed.ErrorCode());
    }

    /// <summary>StrictClientAssertionTypes: OpenIddict's own rule, only <c>client-authentication+jwt</c>.</summary>
    [Fact]
    public async Task PrivateKeyJwt_StrictTypes_UntypedAndJwtRefused_ExplicitTypeAccepted()
    {
        await using var strict = await fixture.StartProviderAsync(
            fixture.Data.Sub("strict-" + Guid.NewGuid().ToString("N")), o => o.Options = o.Options with { StrictClientAssertionTypes = true });
        var (key, jwks) = Tokens.NewClientKey();
        OidcClientCreated created;
        await using (var clients = await SelfOidcClients.OpenAsync(strict.Options.DataDirectory))
        {
            created = await clients.AddAsync(new OidcClientRegistration { Name = "Strict client", CibaMode = "poll", JsonWebKeySet = jwks });
        }

        var client = new CibaClient(fixture, created, strict.BaseAddress);
        await using var device = await fixture.RegisterUserAsync(ConsentPolicies.AlwaysAccept);
        await device.ConnectAsync(strict.AppId);
        var audience = strict.BaseAddress.AbsoluteUri;
        Dictionary<string, object> Claims() => new() { ["iss"] = created.ClientId, ["sub"] = created.ClientId, ["aud"] = audience, ["jti"] = Guid.NewGuid().ToString() };
        ClientAssertion Wrap(string jwt) => new() { Type = OidcConstants.ClientAssertionTypes.JwtBearer, Value = jwt };

        Assert.Equal("invalid_client", (await client.StartAsync(device.SelfId, assertion: Wrap(Tokens.Sign(key, Claims(), fixture.Time.GetUtcNow(), "JWT")))).ErrorCode());
        Assert.Equal("invalid_client", (await client.StartAsync(device.SelfId, assertion: Wrap(Tokens.SignWithoutType(key, Claims(), fixture.Time.GetUtcNow())))).ErrorCode());
        var typed = await client.StartAsync(device.SelfId, assertion: Wrap(Tokens.Sign(key, Claims(), fixture.Time.GetUtcNow(), "client-authentication+jwt")));
        Assert.False(typed.IsError, typed.ErrorCode() + " " + typed.Description());
    }

    /// <summary>Widening the accepted types stops at assertions: other JWT types (an access or ID token as assertion) stay refused.</summary>
    [Theory]
    [InlineData("at+jwt")]
    [InlineData("oi_auc+jwt")]
    [InlineData("application/at+jwt")]
    public async Task PrivateKeyJwt_OtherTokenTypes_Refused(string typ)
    {
        var (key, jwks) = Tokens.NewClientKey();
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync(jwks: jwks));
        await using var device = await fixture.ConnectedUserAsync(ConsentPolicies.AlwaysAccept);
        var jwt = Tokens.Sign(key, AssertionClaims(client.ClientId, Guid.NewGuid().ToString()), fixture.Time.GetUtcNow(), typ);
        var refused = await client.StartAsync(device.SelfId, assertion: new ClientAssertion { Type = OidcConstants.ClientAssertionTypes.JwtBearer, Value = jwt });
        Assert.Equal("invalid_client", refused.ErrorCode());
    }

    private Dictionary<string, object> AssertionClaims(string clientId, string jti) =>
        new() { ["iss"] = clientId, ["sub"] = clientId, ["aud"] = fixture.Issuer.AbsoluteUri, ["jti"] = jti };

    private ClientAssertion Assertion(Microsoft.IdentityModel.Tokens.RsaSecurityKey key, string clientId, string jti) => new()
    {
        Type = OidcConstants.ClientAssertionTypes.JwtBearer,
        Value = Tokens.Sign(key, AssertionClaims(clientId, jti), fixture.Time.GetUtcNow(), "client-authentication+jwt"),
    };
}
