using System.Net;
using Microsoft.Extensions.Time.Testing;
using Self.Network.Tests.Infrastructure;
using Self.Network.Tests.Rest;

namespace Self.Network.Tests.Policy;

public sealed class RegistrationRateLimitTests
{
    [Fact]
    public async Task RegisterUser_EleventhWithinAMinute_Returns429WithRetryAfterUntilTheWindowPasses()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = await NetworkFixture.StartAsync(TempDirectory.Create(), time);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        for (var i = 0; i < 10; i++)
        {
            await TestIdentity.RegisterUserAsync(http, time: time);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        var (root, _, _) = TestIdentity.NewRoot(time: time);
        var refused = await http.CallAsync(HttpMethod.Post, "/v1/identities", json: IdentityEndpointsTests.RegistrationBody(root, null));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.Status);
        Assert.Equal("rate_limited", refused.Code);
        Assert.Equal(TimeSpan.FromSeconds(50), refused.RetryAfter);
        Assert.Equal("rate limited; retry after 50 s", refused.Message);

        time.Advance(TimeSpan.FromSeconds(50));
        var accepted = await http.CallAsync(HttpMethod.Post, "/v1/identities", json: IdentityEndpointsTests.RegistrationBody(root, null));
        Assert.Equal(HttpStatusCode.OK, accepted.Status);
    }
}
