using Self.Protocol.Encoding;

namespace Self.Protocol.Tests.Encoding;

public class Base64CodecTests
{
    private static readonly byte[] Sample = [0xfb, 0xff, 0xbf, 0x00, 0x01];

    [Fact]
    public void EncodeUrl_BytesNeedingSubstitution_UsesUrlAlphabetWithoutPadding()
    {
        Assert.Equal("-_-_AAE", Base64Codec.EncodeUrl(Sample));
    }

    [Fact]
    public void EncodeStandard_BytesNeedingSubstitution_UsesStandardAlphabetWithoutPadding()
    {
        Assert.Equal("+/+/AAE", Base64Codec.EncodeStandard(Sample));
    }

    [Theory]
    [InlineData("-_-_AAE")]
    [InlineData("+/+/AAE")]
    [InlineData("+/+/AAE=")]
    [InlineData("-_-_AAE=")]
    public void Decode_EitherAlphabetWithOrWithoutPadding_ReturnsBytes(string text)
    {
        Assert.Equal(Sample, Base64Codec.Decode(text));
    }

    [Theory]
    [InlineData("abc$")]
    [InlineData("ab cd")]
    [InlineData("a")]
    [InlineData("abcde")]
    [InlineData("ab=")]
    [InlineData("a===")]
    public void Decode_NotBase64_ThrowsFormatException(string text)
    {
        Assert.Throws<FormatException>(() => Base64Codec.Decode(text));
        Assert.False(Base64Codec.TryDecode(text, out _));
    }

    [Fact]
    public void Decode_Empty_ReturnsNoBytes()
    {
        Assert.Empty(Base64Codec.Decode(string.Empty));
    }

    [Fact]
    public void EncodeUrl_RoundTripOfEveryLength_DecodesToSameBytes()
    {
        for (var length = 0; length < 70; length++)
        {
            var data = Enumerable.Range(0, length).Select(i => (byte)(i * 37 + length)).ToArray();
            Assert.Equal(data, Base64Codec.Decode(Base64Codec.EncodeUrl(data)));
            Assert.Equal(data, Base64Codec.Decode(Base64Codec.EncodeStandard(data)));
        }
    }
}
