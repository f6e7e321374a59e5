using Self.Network.Storage;
using Self.Protocol.Keys;

namespace Self.Network.Tests.Storage;

/// <summary>What every <see cref="IDeviceStore"/> must do.</summary>
public abstract class DeviceStoreContract : StorageContract
{
    [Fact]
    public async Task ActivateAsync_NewDevices_ListedInRegistrationOrder()
    {
        var id = NewUserId();

        await Backend.Devices.ActivateAsync(id, "phone", "ios");
        await Backend.Devices.ActivateAsync(id, "1", null);
        await Backend.Devices.ActivateAsync(id, "phone", null);

        Assert.Equal(["phone", "1"], await Backend.Devices.ListActiveAsync(id));
        Assert.True(await Backend.Devices.IsActiveAsync(id, "phone"));
        Assert.False(await Backend.Devices.IsActiveAsync(id, "tablet"));
    }

    [Fact]
    public async Task DeactivateAsync_ActiveDevice_StopsListingItAndDropsItsOneTimeKeys()
    {
        var id = NewUserId();
        await Backend.Devices.ActivateAsync(id, "1", null);
        await Backend.Devices.ActivateAsync(id, "2", null);
        await Backend.OneTimeKeys.AddAsync(id, "1", [new OneTimeKey("a", "A")], 10);
        await Backend.OneTimeKeys.AddAsync(id, "2", [new OneTimeKey("b", "B")], 10);

        Assert.True(await Backend.Devices.DeactivateAsync(id, "1"));

        Assert.Equal(["2"], await Backend.Devices.ListActiveAsync(id));
        Assert.False(await Backend.Devices.IsActiveAsync(id, "1"));
        Assert.Equal(0, await Backend.OneTimeKeys.CountAsync(id, "1"));
        Assert.Equal(1, await Backend.OneTimeKeys.CountAsync(id, "2"));
    }

    [Fact]
    public async Task DeactivateAsync_UnknownOrInactiveDevice_ReturnsFalse()
    {
        var id = NewUserId();
        await Backend.Devices.ActivateAsync(id, "1", null);
        await Backend.Devices.DeactivateAsync(id, "1");

        Assert.False(await Backend.Devices.DeactivateAsync(id, "1"));
        Assert.False(await Backend.Devices.DeactivateAsync(id, "9"));
    }

    [Fact]
    public async Task ActivateAsync_DeactivatedDevice_IsActiveAgain()
    {
        var id = NewUserId();
        await Backend.Devices.ActivateAsync(id, "1", null);
        await Backend.Devices.DeactivateAsync(id, "1");

        await Backend.Devices.ActivateAsync(id, "1", "android");

        Assert.Equal(["1"], await Backend.Devices.ListActiveAsync(id));
    }

    [Fact]
    public async Task ListActiveAsync_OtherIdentity_SeesOnlyItsOwnDevices()
    {
        var first = NewUserId();
        var second = NewUserId();
        await Backend.Devices.ActivateAsync(first, "1", null);

        Assert.Empty(await Backend.Devices.ListActiveAsync(second));
        Assert.False(await Backend.Devices.IsActiveAsync(second, "1"));
    }
}
