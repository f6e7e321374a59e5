using Microsoft.Extensions.Time.Testing;
using Self.Network.Policy;

namespace Self.Network.Tests.Policy;

public sealed class KeyedRateLimiterTests
{
    [Fact]
    public void TryAcquire_SlidingWindow_AllowsPermitsInAnyWindowAndSaysWhenTheNextFrees()
    {
        var time = new FakeTimeProvider();
        var limiter = new KeyedRateLimiter(3, TimeSpan.FromMinutes(1), time);

        Assert.True(limiter.TryAcquire("k", out _));
        time.Advance(TimeSpan.FromSeconds(20));
        Assert.True(limiter.TryAcquire("k", out _));
        Assert.True(limiter.TryAcquire("k", out _));
        Assert.False(limiter.TryAcquire("k", out var wait));
        Assert.Equal(TimeSpan.FromSeconds(40), wait);
        Assert.True(limiter.TryAcquire("other", out _));

        time.Advance(TimeSpan.FromSeconds(40));
        Assert.True(limiter.TryAcquire("k", out _));
        Assert.False(limiter.TryAcquire("k", out wait));
        Assert.Equal(TimeSpan.FromSeconds(20), wait);
    }

    [Fact]
    public void TryAcquire_SameTagRepeated_CountsOnceButNotWithoutBound()
    {
        var time = new FakeTimeProvider();
        var limiter = new KeyedRateLimiter(2, TimeSpan.FromMinutes(1), time);

        // Each permit covers up to MaxUsesPerTag copies of one message; two permits cover twice that.
        for (var i = 0; i < 2 * SlidingWindow.MaxUsesPerTag; i++)
        {
            Assert.True(limiter.TryAcquire("k", out _, "same-id"));
        }

        Assert.False(limiter.TryAcquire("k", out _, "same-id"));
        Assert.False(limiter.TryAcquire("k", out _, "other-id"));
    }

    [Fact]
    public void TryAcquire_ZeroPermits_TurnsTheLimitOff()
    {
        var limiter = new KeyedRateLimiter(0, TimeSpan.FromSeconds(1), new FakeTimeProvider());

        Assert.All(Enumerable.Range(0, 1000), i => Assert.True(limiter.TryAcquire("k", out _)));
    }

    [Fact]
    public void ToRetrySeconds_Fractions_RoundUpToAtLeastOne()
    {
        Assert.Equal(1, KeyedRateLimiter.ToRetrySeconds(TimeSpan.FromMilliseconds(1)));
        Assert.Equal(2, KeyedRateLimiter.ToRetrySeconds(TimeSpan.FromMilliseconds(1001)));
        Assert.Equal(1, KeyedRateLimiter.ToRetrySeconds(TimeSpan.Zero));
    }
}
