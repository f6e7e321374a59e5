using Self.Protocol.Messages;

namespace Self.Protocol.Tests.Messages;

public class Rfc3339Tests
{
    [Theory]
    [InlineData("2026-11-28T09:32:22Z", 0)]
    [InlineData("2026-11-28T09:32:22.526Z", 5_260_000)]
    [InlineData("2026-11-28T09:32:22.5Z", 5_000_000)]
    [InlineData("2026-11-28T09:32:22.123456789Z", 1_234_567)]
    [InlineData("2026-11-28t09:32:22z", 0)]
    public void TryParse_UtcForms_ReadsInstant(string text, long extraTicks)
    {
        Assert.True(Rfc3339.TryParse(text, out var value));
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 9, 32, 22, TimeSpan.Zero).AddTicks(extraTicks), value);
    }

    [Fact]
    public void TryParse_Offset_ReadsSameInstant()
    {
        Assert.True(Rfc3339.TryParse("2026-11-28T10:32:22+01:00", out var value));
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 9, 32, 22, TimeSpan.Zero), value);
        Assert.True(Rfc3339.TryParse("2026-11-28T04:02:22-05:30", out value));
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 9, 32, 22, TimeSpan.Zero), value);
    }

    [Theory]
    [InlineData("2026-11-28T09:32:22")]
    [InlineData("2026-11-28")]
    [InlineData("2026-13-28T09:32:22Z")]
    [InlineData("2026-02-30T09:32:22Z")]
    [InlineData("2026-11-28T25:32:22Z")]
    [InlineData("2026-11-28T09:32:22.Z")]
    [InlineData("1795858337")]
    [InlineData("")]
    public void TryParse_NotRfc3339_ReturnsFalse(string text)
    {
        Assert.False(Rfc3339.TryParse(text, out _));
        Assert.Throws<FormatException>(() => Rfc3339.Parse(text));
    }

    [Fact]
    public void Format_NonUtcValue_WritesUtcWithMillisecondsAndZ()
    {
        var value = new DateTimeOffset(2026, 11, 28, 10, 32, 22, 5, TimeSpan.FromHours(1));
        Assert.Equal("2026-11-28T09:32:22.005Z", Rfc3339.Format(value));
    }
}
