using Self.Device;
using Self.Sdk;
using Self.Sdk.Apps;

namespace Self.Testing;

/// <summary>Fresh apps, app clients and user devices on a fixture's network, so that tests never share identities.</summary>
public static class NetworkFixtureExtensions
{
    private static readonly HttpClient Http = new() { Timeout = Polling.Patience };

    /// <summary>Registers a fresh app with the fixture's admin token.</summary>
    public static Task<CreatedApp> CreateAppAsync(this NetworkFixture network, string name = "Test App")
    {
        ArgumentNullException.ThrowIfNull(network);
        return SelfApps.CreateAsync(network.ApiUrl, NetworkFixture.AdminToken, name, httpClient: Http);
    }

    /// <summary>Options for a client of <paramref name="app"/> with its own fresh store under <paramref name="storage"/>.</summary>
    public static SelfClientOptions ClientOptions(this NetworkFixture network, CreatedApp app, TempDirectory storage, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(storage);
        return new SelfClientOptions
        {
            AppId = app.AppId,
            AppSecret = app.Secret,
            StorageKey = "storage-key-" + app.AppId,
            StorageDirectory = storage.Sub("app-" + app.AppId),
            ApiUrl = network.ApiUrl,
            MessagingUrl = network.MessagingUrl,
            TimeProvider = time ?? TimeProvider.System,
            MaxRetries = 1,
        };
    }

    /// <summary>Options for a user device stored in <paramref name="folder"/> (asks before answering unless
    /// <paramref name="policy"/> says otherwise).</summary>
    public static SelfDeviceOptions DeviceOptions(
        this NetworkFixture network, string folder, IConsentPolicy? policy = null, TimeProvider? time = null, string? deviceId = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        return new SelfDeviceOptions
        {
            ServerUrl = network.ApiUrl,
            MessagingUrl = network.MessagingUrl,
            StorageDirectory = folder,
            StorageKey = "device-storage-key",
            ConsentPolicy = policy ?? ConsentPolicies.Ask,
            TimeProvider = time ?? TimeProvider.System,
            DeviceId = deviceId,
        };
    }

    /// <summary>Registers a fresh user whose device runs in this process, stored in a new folder under
    /// <paramref name="storage"/>.</summary>
    public static Task<SelfDevice> RegisterDeviceAsync(
        this NetworkFixture network, TempDirectory storage, IConsentPolicy? policy = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        return SelfDevice.RegisterAsync(network.DeviceOptions(storage.Sub("device-" + Guid.NewGuid().ToString("N")), policy, time));
    }
}
