namespace Self.Protocol.KeyHistory;

/// <summary>A key as a history leaves it.</summary>
/// <param name="Kid">The key id (any string; never assume it equals the device id).</param>
/// <param name="DeviceId">The device id for device keys; null for recovery keys.</param>
/// <param name="Role">Device or recovery key.</param>
/// <param name="PublicKey">The 32-byte Ed25519 public key.</param>
/// <param name="Created">Unix seconds: the timestamp of the operation that added it.</param>
/// <param name="Revoked">Unix seconds from which it is revoked; 0 while it is active.</param>
public sealed record HistoryKey(string Kid, string? DeviceId, KeyRole Role, byte[] PublicKey, long Created, long Revoked)
{
    /// <summary>True while the key has not been revoked.</summary>
    public bool IsActive => Revoked == 0;

    /// <summary>The key is valid at <paramref name="unixSeconds"/> when created ≤ t and (not revoked or t &lt; revoked).</summary>
    public bool IsValidAt(long unixSeconds) => Created <= unixSeconds && (Revoked == 0 || unixSeconds < Revoked);
}
