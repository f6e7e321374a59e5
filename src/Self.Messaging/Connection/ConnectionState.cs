namespace Self.Messaging;

/// <summary>Where a <see cref="MessagingConnection"/> is in its life.</summary>
public enum ConnectionState
{
    /// <summary>Created; <see cref="MessagingConnection.ConnectAsync"/> not called yet.</summary>
    Created,

    /// <summary>Opening the socket and authenticating.</summary>
    Connecting,

    /// <summary>Authenticated; messages flow.</summary>
    Connected,

    /// <summary>Dropped; waiting to reconnect with back-off.</summary>
    Reconnecting,

    /// <summary>Another connection of the same address took over (close 1011 "connection superseded"); this one stays closed.</summary>
    Superseded,

    /// <summary>The server refused authentication on a reconnect; this connection stays closed.</summary>
    Failed,

    /// <summary>Disposed.</summary>
    Closed,
}

/// <summary>Why a <see cref="MessagingConnection"/> lost its socket.</summary>
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
