using Self.Device;
using Self.Oidc.Tests.Infrastructure;

namespace Self.Oidc.Tests.Ciba;

[Collection(OidcCollection.Name)]
public sealed class CibaPingTests(OidcFixture fixture)
{
    [Fact]
    public async Task Ping_UserAccepts_NotificationWithBearerToken_ThenTokens()
    {
        await using var endpoint = await NotificationEndpoint.StartAsync();
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync("ping", endpoint.Address));
        await using var device = await fixture.ConnectedUserAsync();
        var token = "notify-" + Guid.NewGuid().ToString("N");

        var started = await client.StartAsync(device.SelfId, notificationToken: token);
        Assert.False(started.IsError, started.ErrorCode() + " " + started.Description());
        Assert.Empty(endpoint.Received);

        await (await device.NextRequestAsync()).AcceptAsync();
        await Waiting.UntilAsync(() => Task.FromResult(!endpoint.Received.IsEmpty), "the ping");
        var (authorization, authReqId, _) = Assert.Single(endpoint.Received);
        Assert.Equal("Bearer " + token, authorization);
        Assert.Equal(started.AuthenticationRequestId, authReqId);

        var tokens = await client.RedeemAsync(authReqId!);
        Assert.False(tokens.IsError, tokens.Error + " " + tokens.ErrorDescription);
        Assert.Equal(device.SelfId, (await Tokens.ValidateIdTokenAsync(fixture, tokens.IdentityToken!, client.ClientId)).Subject);
    }

    [Fact]
    public async Task Ping_UserRejects_NotifiedThenAccessDenied()
    {
        await using var endpoint = await NotificationEndpoint.StartAsync();
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync("ping", endpoint.Address));
        await using var device = await fixture.ConnectedUserAsync(ConsentPolicies.AlwaysReject);
        var started = await client.StartAsync(device.SelfId, notificationToken: "t0ken");

        await Waiting.UntilAsync(() => Task.FromResult(!endpoint.Received.IsEmpty), "the ping");
        Assert.Equal("access_denied", (await client.RedeemAsync(started.AuthenticationRequestId)).Error);
    }

    [Fact]
    public async Task Ping_EndpointFailsFirst_RetriedAfterBackOff()
    {
        await using var endpoint = await NotificationEndpoint.StartAsync(failFirst: 1);
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync("ping", endpoint.Address));
        await using var device = await fixture.ConnectedUserAsync(ConsentPolicies.AlwaysAccept);
        var started = await client.StartAsync(device.SelfId, notificationToken: "retry-token");

        await Waiting.UntilAsync(() => Task.FromResult(endpoint.Received.Count == 1), "the first ping");

        // The failed ping held nothing up: the client can redeem before the retry.
        var tokens = await client.RedeemAsync(started.AuthenticationRequestId);
        Assert.False(tokens.IsError, tokens.Error + " " + tokens.ErrorDescription);
        Assert.Single(endpoint.Received);

        // The retry waits for its back-off (1 s) on the provider's clock; the clock moves in small steps because the
        // retry's timer starts only once the failed attempt's answer is in.
        var moved = TimeSpan.Zero;
        await Waiting.UntilAsync(
            () =>
            {
                if (endpoint.Received.Count < 2)
                {
                    fixture.Time.Advance(TimeSpan.FromMilliseconds(100));
                    moved += TimeSpan.FromMilliseconds(100);
                }

                return Task.FromResult(endpoint.Received.Count == 2);
            },
            "the retried ping");
        Assert.True(moved >= TimeSpan.FromSeconds(1), "the retry came before its back-off");
        Assert.True(endpoint.Received.Last().Answered);
        Assert.Equal(started.AuthenticationRequestId, endpoint.Received.Last().AuthReqId);
    }

    [Fact]
    public async Task Ping_WithoutNotificationToken_InvalidRequest()
    {
        await using var endpoint = await NotificationEndpoint.StartAsync();
        var client = new CibaClient(fixture, await fixture.AddCibaClientAsync("ping", endpoint.Address));
        Assert.Equal("invalid_request", (await client.StartAsync("1112223334")).ErrorCode());
    }
}
