using Self.Protocol.Messages;

namespace Self.Protocol.Tests.Messages;

/// <summary>The §9 limits and time checks that the SDK (responses) and the device (requests) share.</summary>
public sealed class RequestRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset RequestIat = Now - TimeSpan.FromMinutes(1);
    private static readonly DateTimeOffset RequestExp = Now + TimeSpan.FromMinutes(4);

    [Fact]
    public void CheckResponseTimes_FreshAnswer_Passes()
    {
        Assert.Null(RequestRules.CheckResponseTimes(Now, RequestIat, RequestExp, Now, RequestExp));
    }

    [Fact]
    public void CheckResponseTimes_ResponseOwnExpPassed_Refused()
    {
        // The request is still open, but the response says of itself that it no longer counts (spec §9, last paragraph).
        var reason = RequestRules.CheckResponseTimes(Now, RequestIat, RequestExp, Now, Now - TimeSpan.FromSeconds(1));

        Assert.Equal("the response has expired", reason);
    }

    [Fact]
    public void CheckResponseTimes_IatEarlierThanRequestLessSkew_Refused()
    {
        // An answer dated before the question (beyond the clock skew) cannot answer it: a replay or a forged date.
        var reason = RequestRules.CheckResponseTimes(Now, RequestIat, RequestExp, RequestIat - TimeSpan.FromSeconds(61), RequestExp);

        Assert.Equal("iat is earlier than the request's", reason);
    }

    [Fact]
    public void CheckResponseTimes_IatEarlierWithinSkew_Passes()
    {
        Assert.Null(RequestRules.CheckResponseTimes(Now, RequestIat, RequestExp, RequestIat - TimeSpan.FromSeconds(60), RequestExp));
    }

    [Fact]
    public void CheckResponseTimes_RequestIatUnknown_SkipsOnlyThatCheck()
    {
        Assert.Null(RequestRules.CheckResponseTimes(Now, null, RequestExp, RequestIat - TimeSpan.FromHours(1), RequestExp));
        Assert.Equal("the response has expired", RequestRules.CheckResponseTimes(Now, null, RequestExp, Now, Now - TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void CheckResponseTimes_IatInTheFuture_Refused()
    {
        Assert.Equal("iat is in the future", RequestRules.CheckResponseTimes(Now, RequestIat, RequestExp, Now + TimeSpan.FromSeconds(61), RequestExp));
        Assert.Null(RequestRules.CheckResponseTimes(Now, RequestIat, RequestExp, Now + TimeSpan.FromSeconds(60), RequestExp));
    }

    [Fact]
    public void CheckResponseTimes_RequestExpired_Refused()
    {
        Assert.Equal("the request has expired", RequestRules.CheckResponseTimes(Now, RequestIat, Now - TimeSpan.FromSeconds(1), Now, RequestExp));
    }

    [Fact]
    public void CheckRequestTimes_Limits()
    {
        Assert.Null(RequestRules.CheckRequestTimes(Now, Now, Now + TimeSpan.FromHours(24)));
        Assert.StartsWith("it expired", RequestRules.CheckRequestTimes(Now, Now - TimeSpan.FromMinutes(5), Now));
        Assert.Contains("more than 24 hours away", RequestRules.CheckRequestTimes(Now, Now, Now + TimeSpan.FromHours(24) + TimeSpan.FromSeconds(61)));
        Assert.StartsWith("it was issued in the future", RequestRules.CheckRequestTimes(Now, Now + TimeSpan.FromSeconds(61), Now + TimeSpan.FromMinutes(5)));
    }

    [Theory]
    [InlineData("Sign in to Example", true)]
    [InlineData("", false)]
    [InlineData("line\nbreak", false)]
    public void IsValidBindingMessage_PrintableUpTo64(string message, bool valid)
    {
        Assert.Equal(valid, RequestRules.IsValidBindingMessage(message));
    }

    [Fact]
    public void IsValidBindingMessage_LengthLimit()
    {
        Assert.True(RequestRules.IsValidBindingMessage(new string('a', RequestRules.MaxBindingMessageLength)));
        Assert.False(RequestRules.IsValidBindingMessage(new string('a', RequestRules.MaxBindingMessageLength + 1)));
        Assert.Equal(64, RequestRules.MaxBindingMessageLength);
        Assert.Equal(TimeSpan.FromHours(24), RequestRules.MaxRequestLifetime);
        Assert.Equal(TimeSpan.FromSeconds(60), RequestRules.ClockSkew);
    }
}
