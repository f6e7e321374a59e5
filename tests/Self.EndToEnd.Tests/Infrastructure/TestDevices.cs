using Self.Device;

namespace Self.EndToEnd.Tests.Infrastructure;

/// <summary>Real user devices (SelfDevice) on the fixture's network, each with its own encrypted store.</summary>
public static class TestDevices
{
    /// <summary>Options for a device stored in <paramref name="folder"/>.</summary>
    public static SelfDeviceOptions Options(NetworkFixture network, string folder, IConsentPolicy? policy = null, TimeProvider? time = null, string? deviceId = null) => new()
    {
        ServerUrl = network.ApiUrl,
        MessagingUrl = network.MessagingUrl,
        StorageDirectory = folder,
        StorageKey = "device-storage-key",
        ConsentPolicy = policy ?? ConsentPolicies.Ask,
        TimeProvider = time ?? TimeProvider.System,
        DeviceId = deviceId,
    };

    /// <summary>Registers a new user and returns its running device.</summary>
    public static Task<SelfDevice> RegisterAsync(NetworkFixture network, TempDirectory storage, IConsentPolicy? policy = null, TimeProvider? time = null) =>
        SelfDevice.RegisterAsync(Options(network, storage.Sub("device-" + Guid.NewGuid().ToString("N")), policy, time));
}
