using Self.Network.Storage;

namespace Self.Network.Tests.Storage;

public sealed class LocalAddressClaimsTests : AddressClaimsContract
{
    protected override Task<IAddressClaims> CreateClaimsAsync() => Task.FromResult<IAddressClaims>(new LocalAddressClaims());

    [Fact]
    public void Dispose_EveryClaim_LeavesNoAddressBehind()
    {
        var claims = (LocalAddressClaims)Claims;
        var address = NewAddress();
        var first = claims.Claim(address, () => { });
        var second = claims.Claim(address, () => { });
        var other = claims.Claim(NewAddress(), () => { });
        Assert.Equal(2, claims.Count);

        first.Dispose();
        second.Dispose();
        other.Dispose();

        Assert.Equal(0, claims.Count);
    }
}
