using Self.Device;
using Self.Oidc.Tests.Infrastructure;

namespace Self.Oidc.Tests.Ciba;

[Collection(OidcCollection.Name)]
public sealed class CibaPollTests(OidcFixture fixture)
{
    [Fact]
    public async Task Discovery_PublishesCibaMetadata_AndHidesTheInternalGrant()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        var disco = await client.DiscoverAsync();

        Assert.Equal(new Uri(fixture.Issuer, "connect/ciba").AbsoluteUri, disco.BackchannelAuthenticationEndpoint);
        Assert.Equal(["poll", "ping"], disco.BackchannelTokenDeliveryModesSupported);
        Assert.False(disco.BackchannelUserCodeParameterSupported);
        Assert.Contains("urn:openid:params:grant-type:ciba", disco.GrantTypesSupported);
        Assert.Contains("authorization_code", disco.GrantTypesSupported);
        Assert.DoesNotContain(disco.GrantTypesSupported, g => g.StartsWith("urn:self:", StringComparison.Ordinal));
        Assert.Contains("client_secret_basic", disco.TokenEndpointAuthenticationMethodsSupported);
        Assert.Contains("client_secret_post", disco.TokenEndpointAuthenticationMethodsSupported);
        Assert.Contains("private_key_jwt", disco.TokenEndpointAuthenticationMethodsSupported);
        Assert.Equal(["S256"], disco.CodeChallengeMethodsSupported);
        Assert.NotNull(disco.UserInfoEndpoint);
        Assert.NotEmpty(disco.KeySet!.Keys);
    }

    [Fact]
    public async Task Poll_UserAccepts_TokensWithValidIdToken()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        await using var device = await fixture.ConnectedUserAsync();

        var started = await client.StartAsync(device.SelfId, bindingMessage: "W4X-19");
        Assert.False(started.IsError, started.ErrorCode() + " " + started.Description());
        Assert.Equal(1, started.Interval);
        Assert.InRange(started.ExpiresIn, 1, 120);

        var request = await device.NextRequestAsync();
        Assert.Equal("W4X-19", request.BindingMessage);
        Assert.Equal(fixture.Provider.AppId, request.AppId);
        Assert.Equal("Sign in to CIBA test client", request.Description);

        var pending = await client.RedeemAsync(started.AuthenticationRequestId);
        Assert.Equal("authorization_pending", pending.Error);

        await request.AcceptAsync();
        var tokens = await PollUntilAnsweredAsync(fixture, client, started.AuthenticationRequestId);
        Assert.False(tokens.IsError, tokens.Error + " " + tokens.ErrorDescription);
        Assert.NotNull(tokens.AccessToken);

        var idToken = await Tokens.ValidateIdTokenAsync(fixture, tokens.IdentityToken!, client.ClientId);
        Assert.Equal(device.SelfId, idToken.Subject);
        Assert.True(idToken.TryGetPayloadValue<long>("auth_time", out var authTime));
        Assert.InRange(authTime, fixture.Time.GetUtcNow().AddMinutes(-1).ToUnixTimeSeconds(), fixture.Time.GetUtcNow().ToUnixTimeSeconds());
        Assert.True(idToken.TryGetPayloadValue<string[]>("amr", out var amr));
        Assert.Equal(["swk", "user"], amr);

        // userinfo with the access token says who, too.
        using var userinfo = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Issuer, "connect/userinfo"));
        userinfo.Headers.Authorization = new("Bearer", tokens.AccessToken);
        using var answer = await fixture.Http.SendAsync(userinfo);
        Assert.Contains(device.SelfId, await answer.Content.ReadAsStringAsync());

        // Single use.
        var again = await client.RedeemAsync(started.AuthenticationRequestId);
        Assert.Equal("invalid_grant", again.Error);
    }

    [Fact]
    public async Task Poll_UserRejects_AccessDenied()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        await using var device = await fixture.ConnectedUserAsync();
        var started = await client.StartAsync(device.SelfId);
        await (await device.NextRequestAsync()).RejectAsync();

        var denied = await PollUntilAnsweredAsync(fixture, client, started.AuthenticationRequestId);
        Assert.Equal("access_denied", denied.Error);
        Assert.Null(denied.IdentityToken);
    }

    [Fact]
    public async Task Poll_TooFast_SlowDownWithIntervalRaised()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        await using var device = await fixture.ConnectedUserAsync();
        var started = await client.StartAsync(device.SelfId);

        Assert.Equal("authorization_pending", (await client.RedeemAsync(started.AuthenticationRequestId)).Error);
        var slow = await client.RedeemAsync(started.AuthenticationRequestId);
        Assert.Equal("slow_down", slow.Error);
        Assert.Equal(6, slow.Json!.Value.GetProperty("interval").GetInt32());

        // After the raised interval the client may poll again.
        fixture.Time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal("authorization_pending", (await client.RedeemAsync(started.AuthenticationRequestId)).Error);
    }

    [Fact]
    public async Task Poll_RequestedExpiryPasses_ExpiredToken()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        await using var device = await fixture.ConnectedUserAsync();
        var started = await client.StartAsync(device.SelfId, requestedExpiry: 3);
        Assert.Equal(3, started.ExpiresIn);
        var request = await device.NextRequestAsync();

        fixture.Time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal("expired_token", (await client.RedeemAsync(started.AuthenticationRequestId)).Error);
    }

    [Fact]
    public async Task Redeem_UnknownOrOtherClientsAuthReqId_InvalidGrant()
    {
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        var other = new CibaClient(fixture, await fixture.AddCibaClientAsync());
        await using var device = await fixture.ConnectedUserAsync(ConsentPolicies.AlwaysAccept);
        var started = await client.StartAsync(device.SelfId);

        Assert.Equal("invalid_grant", (await client.RedeemAsync("never-issued")).Error);
        Assert.Equal("invalid_grant", (await other.RedeemAsync(started.AuthenticationRequestId)).Error);

        // The other client's attempt changed nothing: the right client still gets its tokens.
        var tokens = await PollUntilAnsweredAsync(fixture, client, started.AuthenticationRequestId);
        Assert.False(tokens.IsError, tokens.Error);
    }

    [Fact]
    public async Task Redeem_WithoutCibaPermission_UnauthorizedClient()
    {
        var webOnly = await fixture.AddClientAsync(new Clients.OidcClientRegistration { Name = "web", RedirectUris = [new Uri("https://rp.example/cb")] });
        var client = new CibaClient(fixture, webOnly);
        var started = await client.StartAsync("1112223334");
        Assert.Equal("unauthorized_client", started.ErrorCode());
        Assert.Equal("unauthorized_client", (await client.RedeemAsync("anything")).Error);
    }

    /// <summary>Redeems as a well-behaved client does once the user has answered: after waiting the interval (on the fake clock).</summary>
    internal static async Task<Duende.IdentityModel.Client.TokenResponse> PollUntilAnsweredAsync(OidcFixture fixture, CibaClient client, string? authReqId)
    {
        await fixture.WaitAnsweredAsync(authReqId!);
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        return await client.RedeemAsync(authReqId);
    }
}
