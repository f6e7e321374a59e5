using Self.Protocol;
using Self.Protocol.Frames;

namespace Self.Messaging.Tests;

public sealed class MessageRefusedExceptionTests
{
    [Theory]
    [InlineData("rate limited; retry after 42 s", 42)]
    [InlineData("rate limited; retry after 7s", 7)]
    [InlineData("Rate limited; retry after 1.5 s", 1.5)]
    public void Constructor_RateLimitedReason_ParsesRetryAfter(string reason, double seconds)
    {
        var error = new MessageRefusedException(ErrType.ErrMessage, reason);

        Assert.True(error.IsRateLimited);
        Assert.False(error.IsNotConnected);
        Assert.Equal(TimeSpan.FromSeconds(seconds), error.RetryAfter);
        Assert.Equal(reason, error.Reason);
    }

    [Fact]
    public void Constructor_NotConnectedReason_KeepsTextAndFlagsIt()
    {
        var error = new MessageRefusedException(ErrType.ErrMessage, "recipient 84099724068 has not connected to 5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0");

        Assert.True(error.IsNotConnected);
        Assert.False(error.IsRateLimited);
        Assert.Null(error.RetryAfter);
        Assert.Equal("message_refused", error.ErrorCode);
        Assert.Contains("84099724068", error.Message);
    }
}
