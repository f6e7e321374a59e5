using Self.Protocol.Keys;

namespace Self.Network.Storage;

/// <summary>The one-time keys each device publishes; each key is handed out at most once.</summary>
public interface IOneTimeKeyStore
{
    /// <summary>
    /// Adds keys for a device. A key whose id the device already holds is left as it is. Returns false, adding
    /// nothing, when the device would then hold more than <paramref name="maxHeld"/> keys.
    /// </summary>
    ValueTask<bool> AddAsync(
        string identityId,
        string deviceId,
        IReadOnlyList<OneTimeKey> keys,
        int maxHeld,
        CancellationToken cancellationToken = default);

    /// <summary>Removes and returns one key of the device (the oldest), or null when none is left. Atomic: two callers never get the same key.</summary>
    ValueTask<OneTimeKey?> PopAsync(string identityId, string deviceId, CancellationToken cancellationToken = default);

    /// <summary>How many keys the device holds.</summary>
    ValueTask<int> CountAsync(string identityId, string deviceId, CancellationToken cancellationToken = default);
}
