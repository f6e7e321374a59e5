using Self.Protocol.Identifiers;

namespace Self.Protocol.Tests.Identifiers;

public class AddressTests
{
    [Fact]
    public void Parse_UserAddress_SplitsIdAndDevice()
    {
        var address = Address.Parse("84099724068:1");
        Assert.Equal("84099724068", address.Id);
        Assert.Equal("1", address.Device);
        Assert.Equal("84099724068:1", address.ToString());
    }

    [Fact]
    public void Parse_AppAddress_SplitsIdAndDevice()
    {
        var address = Address.Parse("f37e9ec4af9a32d8e9fdad497a8b8ab1:phone-2");
        Assert.Equal(new Address("f37e9ec4af9a32d8e9fdad497a8b8ab1", "phone-2"), address);
    }

    [Theory]
    [InlineData("84099724068")]
    [InlineData("84099724068:")]
    [InlineData(":1")]
    [InlineData("84099724068:1:2")]
    [InlineData("123456789:1")]
    [InlineData("F37E9EC4AF9A32D8E9FDAD497A8B8AB1:1")]
    public void Parse_Invalid_ThrowsFormatException(string text)
    {
        Assert.Throws<FormatException>(() => Address.Parse(text));
        Assert.False(Address.TryParse(text, out _));
    }
}
