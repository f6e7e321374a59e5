namespace Self.Protocol.KeyHistory;

/// <summary>What a key in a history is for.</summary>
public enum KeyRole
{
    /// <summary>A device's signing key (<c>device.key</c>), tied to a device id.</summary>
    Device,

    /// <summary>The identity's recovery key (<c>recovery.key</c>); exactly one is active.</summary>
    Recovery,
}
