namespace Self.Protocol;

/// <summary>
/// Why a client (<c>SelfClient</c>, <c>SelfDevice</c>) lost its connection to the network's messaging endpoint;
/// the data of their <c>Disconnected</c> event.
/// </summary>
public sealed class MessagingDisconnectedEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    public MessagingDisconnectedEventArgs(string reason, bool willReconnect, bool superseded, Exception? exception)
    {
        Reason = reason;
        WillReconnect = willReconnect;
        Superseded = superseded;
        Exception = exception;
    }

    /// <summary>A human-readable reason.</summary>
    public string Reason { get; }

    /// <summary>True when the connection will try to reconnect.</summary>
    public bool WillReconnect { get; }

    /// <summary>True when another connection of the same address replaced this one.</summary>
    public bool Superseded { get; }

    /// <summary>The failure behind the drop, when there is one.</summary>
    public Exception? Exception { get; }
}
