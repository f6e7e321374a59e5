using Self.Device;

namespace Self.EndToEnd.Tests.Infrastructure;

/// <summary>Real user devices (SelfDevice) on the fixture's network, each with its own encrypted store.</summary>
public static class TestDevices
{
    /// <summary>Options for a device stored in <paramref name="folder"/>.</summary>
    public static SelfDeviceOptions Options(NetworkFixture network, string folder, IConsentPolicy? policy = null, TimeProvider? time = null, string? deviceId = null) =>
        network.DeviceOptions(folder, policy, time, deviceId);

    /// <summary>Registers a new user and returns its running device.</summary>
    public static Task<SelfDevice> RegisterAsync(NetworkFixture network, TempDirectory storage, IConsentPolicy? policy = null, TimeProvider? time = null) =>
        network.RegisterDeviceAsync(storage, policy, time);
}
