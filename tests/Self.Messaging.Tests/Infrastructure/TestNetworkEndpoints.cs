namespace Self.Messaging.Tests.Infrastructure;

public sealed partial class TestNetwork
{
    internal SelfEndpointOptions EndpointOptions(TestIdentity identity, string storageDirectory, string storageKey = "test-storage-key", TimeProvider? time = null) => new()
    {
        IdentityId = identity.Id,
        DeviceId = identity.DeviceId,
        SigningKey = identity.DeviceKey,
        ApiUrl = ApiUrl,
        MessagingUrl = MessagingUrl,
        StorageDirectory = storageDirectory,
        StorageKey = storageKey,
        TimeProvider = time ?? TimeProvider.System,
        ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
    };
}
