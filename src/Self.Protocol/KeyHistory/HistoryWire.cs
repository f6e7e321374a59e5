namespace Self.Protocol.KeyHistory;

/// <summary>The literal strings of key-history operations (spec §3).</summary>
public static class HistoryWire
{
    /// <summary>The only operation version.</summary>
    public const string Version = "1.0.0";

    /// <summary>The root operation's <c>previous</c>.</summary>
    public const string RootPrevious = "-";

    /// <summary>Action that adds a key.</summary>
    public const string KeyAdd = "key.add";

    /// <summary>Action that revokes a key.</summary>
    public const string KeyRevoke = "key.revoke";

    /// <summary>Type of a device key.</summary>
    public const string DeviceKey = "device.key";

    /// <summary>Type of a recovery key.</summary>
    public const string RecoveryKey = "recovery.key";
}
