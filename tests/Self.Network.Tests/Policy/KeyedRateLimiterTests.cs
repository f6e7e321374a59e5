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
    public void TryAcquire_SameTagToEachDevice_CountsOnceButNotWithoutBound()
    {
        var time = new FakeTimeProvider();
        var limiter = new KeyedRateLimiter(2, TimeSpan.FromMinutes(1), time);

        // Each permit covers one copy of a message per device, up to MaxUsesPerTag devices; two permits cover twice that.
        for (var i = 0; i < 2 * SlidingWindow.MaxUsesPerTag; i++)
        {
            Assert.True(limiter.TryAcquire("k", out _, "same-id", "device-" + (i % SlidingWindow.MaxUsesPerTag)));
        }

        Assert.False(limiter.TryAcquire("k", out _, "same-id", "device-new"));
        Assert.False(limiter.TryAcquire("k", out _, "other-id", "device-0"));
    }

    [Fact]
    public void TryAcquire_SameTagToTheSameDeviceAgain_CostsAPermitEachTime()
    {
        // Issue 10, hole 3: reusing one frame id gave 32 free messages per permit (320 a minute instead of 10).
        var time = new FakeTimeProvider();
        var limiter = new KeyedRateLimiter(10, TimeSpan.FromMinutes(1), time);

        var accepted = Enumerable.Range(0, 400).Count(i => limiter.TryAcquire("k", out _, "reused-id", "1"));

        Assert.Equal(10, accepted);
    }

    [Fact]
    public void TryAcquire_TagWithoutMember_IsNeverFree()
    {
        var limiter = new KeyedRateLimiter(3, TimeSpan.FromMinutes(1), new FakeTimeProvider());

        Assert.Equal(3, Enumerable.Range(0, 10).Count(i => limiter.TryAcquire("k", out _, "id")));
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
