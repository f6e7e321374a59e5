using Self.Protocol.Identifiers;

namespace Self.Protocol.Tests.Identifiers;

public class SelfIdsTests
{
    [Theory]
    [InlineData("84099724068", true)]
    [InlineData("1112223334", true)]
    [InlineData("123456789", false)]
    [InlineData("123456789012", false)]
    [InlineData("8409972406a", false)]
    [InlineData("８４０９９７２４０６８", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsUserId_Candidate_MatchesTenOrElevenDigits(string? value, bool expected)
    {
        Assert.Equal(expected, SelfIds.IsUserId(value));
    }

    [Theory]
    [InlineData("5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0", true)]
    [InlineData("5AB3C4D2E1F0A9B8C7D6E5F4A3B2C1D0", false)]
    [InlineData("5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d", false)]
    [InlineData("5ab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0a", false)]
    [InlineData("gab3c4d2e1f0a9b8c7d6e5f4a3b2c1d0", false)]
    public void IsAppId_Candidate_MatchesLowercaseHex32(string value, bool expected)
    {
        Assert.Equal(expected, SelfIds.IsAppId(value));
        Assert.Equal(expected, SelfIds.IsIdentityId(value));
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("phone-2", true)]
    [InlineData("A.b_c-9", true)]
    [InlineData("", false)]
    [InlineData("a:b", false)]
    [InlineData("a b", false)]
    [InlineData("é", false)]
    public void IsDeviceId_Candidate_MatchesAllowedCharacters(string value, bool expected)
    {
        Assert.Equal(expected, SelfIds.IsDeviceId(value));
    }

    [Fact]
    public void IsDeviceId_Length_AllowsUpTo64()
    {
        Assert.True(SelfIds.IsDeviceId(new string('a', 64)));
        Assert.False(SelfIds.IsDeviceId(new string('a', 65)));
    }

    [Fact]
    public void IsConversationId_Length_AllowsOneTo128()
    {
        Assert.True(SelfIds.IsConversationId("x"));
        Assert.True(SelfIds.IsConversationId(new string('c', 128)));
        Assert.False(SelfIds.IsConversationId(new string('c', 129)));
        Assert.False(SelfIds.IsConversationId(string.Empty));
        Assert.False(SelfIds.IsConversationId(null));
    }

    [Theory]
    [InlineData("58039971-7efb-4517-9d0e-c6af21495042", true)]
    [InlineData("58039971-7EFB-4517-9D0E-C6AF21495042", true)]
    [InlineData("580399717efb45179d0ec6af21495042", false)]
    [InlineData("{58039971-7efb-4517-9d0e-c6af21495042}", false)]
    [InlineData("not-a-uuid", false)]
    public void IsMessageId_Candidate_MatchesUuid(string value, bool expected)
    {
        Assert.Equal(expected, SelfIds.IsMessageId(value));
    }
}
