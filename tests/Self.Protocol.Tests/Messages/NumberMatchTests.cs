using System.Security.Cryptography;
using Self.Protocol.Encoding;
using Self.Protocol.Messages;

namespace Self.Protocol.Tests.Messages;

public sealed class NumberMatchTests
{
    private static readonly byte[] Salt = [.. Enumerable.Range(1, 16).Select(i => (byte)i)];

    [Fact]
    public void ForNumber_KnownSalt_HashIsSha256OfSaltThenAsciiDigits()
    {
        var claim = NumberMatch.ForNumber("42", Salt);

        var expected = SHA256.HashData([.. Salt, .. System.Text.Encoding.ASCII.GetBytes("42")]);
        Assert.Equal(Base64Codec.EncodeUrl(Salt), claim.Salt);
        Assert.Equal(Base64Codec.EncodeUrl(expected), claim.Hash);
        Assert.DoesNotContain('=', claim.Hash);
    }

    [Fact]
    public void Create_GivesTwoDigitsThatMatchTheirClaim()
    {
        for (var i = 0; i < 200; i++)
        {
            var (number, claim) = NumberMatch.Create();
            Assert.Matches("^[0-9]{2}$", number);
            Assert.True(claim.Matches(number));
            Assert.True(claim.IsWellFormedClaim());
        }
    }

    [Theory]
    [InlineData("43")]
    [InlineData("4")]
    [InlineData("042")]
    [InlineData("4a")]
    [InlineData("٤٢")] // Arabic-Indic digits are not ASCII digits
    [InlineData("")]
    [InlineData(null)]
    public void Matches_AnythingButTheNumber_False(string? typed)
    {
        Assert.False(NumberMatch.ForNumber("42", Salt).Matches(typed));
    }

    [Fact]
    public void Matches_DamagedClaim_FalseAndNotWellFormed()
    {
        var claim = NumberMatch.ForNumber("42", Salt);

        Assert.False((claim with { Hash = "!!" }).Matches("42"));
        Assert.False((claim with { Hash = "!!" }).IsWellFormedClaim());
        Assert.False((claim with { Salt = Base64Codec.EncodeUrl(new byte[4]) }).IsWellFormedClaim());
        Assert.False((claim with { Hash = Base64Codec.EncodeUrl(new byte[31]) }).Matches("42"));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("123")]
    [InlineData("ab")]
    public void ForNumber_NotTwoDigits_Throws(string number)
    {
        Assert.Throws<ArgumentException>(() => NumberMatch.ForNumber(number, Salt));
    }

    [Fact]
    public void RequestClaims_NumberMatch_WireNamesAreSnakeCase()
    {
        var claims = new AuthenticationRequestClaims
        {
            Typ = MessageTypes.FactsQueryRequest, Iss = "a", Sub = "b", Aud = "b", Iat = DateTimeOffset.UnixEpoch,
            Exp = DateTimeOffset.UnixEpoch.AddMinutes(5), Cid = "c", Jti = "j", NumberMatch = NumberMatch.ForNumber("07", Salt),
        };

        var json = System.Text.Json.JsonSerializer.Serialize(claims, MessageJsonContext.Default.AuthenticationRequestClaims);

        Assert.Contains("\"number_match\":{\"salt\":\"", json);
        Assert.Contains("\"hash\":\"", json);
        var back = System.Text.Json.JsonSerializer.Deserialize(json, MessageJsonContext.Default.AuthenticationRequestClaims)!;
        Assert.True(back.NumberMatch!.Matches("07"));
    }

    [Fact]
    public void ResponseClaims_Number_WrittenOnlyWhenPresent()
    {
        var response = new AuthenticationResponseClaims
        {
            Typ = MessageTypes.FactsQueryResponse, Iss = "u", Sub = "u", Aud = "a", Iat = DateTimeOffset.UnixEpoch,
            Exp = DateTimeOffset.UnixEpoch.AddMinutes(5), Cid = "c", Jti = "j", Status = ResponseStatuses.Accepted,
        };

        Assert.DoesNotContain("number", System.Text.Json.JsonSerializer.Serialize(response, MessageJsonContext.Default.AuthenticationResponseClaims));
        Assert.Contains("\"number\":\"07\"", System.Text.Json.JsonSerializer.Serialize(response with { Number = "07" }, MessageJsonContext.Default.AuthenticationResponseClaims));
    }
}
