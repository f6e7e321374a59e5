namespace Self.Network.Storage;

/// <summary>The devices of each identity that may receive messages.</summary>
public interface IDeviceStore
{
    /// <summary>The active device ids of an identity, in the order they were first registered.</summary>
    ValueTask<IReadOnlyList<string>> ListActiveAsync(string identityId, CancellationToken cancellationToken = default);

    /// <summary>Whether the device is registered and active.</summary>
    ValueTask<bool> IsActiveAsync(string identityId, string deviceId, CancellationToken cancellationToken = default);

    /// <summary>Registers the device or makes it active again, recording its platform when given.</summary>
    ValueTask ActivateAsync(string identityId, string deviceId, string? platform, CancellationToken cancellationToken = default);

    /// <summary>Deactivates the device and drops its one-time keys; false when it was not active.</summary>
    ValueTask<bool> DeactivateAsync(string identityId, string deviceId, CancellationToken cancellationToken = default);
}
