using Self.Cli.Terminal;

namespace Self.EndToEnd.Tests.Cli;

public sealed class DurationsTests
{
    [Theory]
    [InlineData("60s", 60_000)]
    [InlineData("5m", 300_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("500ms", 500)]
    [InlineData("2d", 172_800_000)]
    [InlineData(" 90s ", 90_000)]
    public void TryParse_Duration_ReadsIt(string text, long milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), duration);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("60")]
    [InlineData("s")]
    [InlineData("5x")]
    [InlineData("-5s")]
    [InlineData("0s")]
    [InlineData("5 s")]
    [InlineData("1.5h")]
    [InlineData("99999999999999999999d")]
    [InlineData("9999999999999d")]
    [InlineData("999999999999999999ms")]
    [InlineData("9999999999999999s")]
    public void TryParse_NotADuration_ReturnsFalse(string? text)
    {
        Assert.False(Durations.TryParse(text, out _));
    }

    [Theory]
    [InlineData("1h30m")]
    [InlineData("45s")]
    [InlineData("2d3h4m5s6ms")]
    public void Format_ParsedDuration_WritesItBack(string text)
    {
        Assert.True(Durations.TryParse(text, out var duration));
        Assert.Equal(text, Durations.Format(duration));
    }
}
