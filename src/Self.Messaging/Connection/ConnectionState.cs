namespace Self.Messaging;

/// <summary>Where a <see cref="MessagingConnection"/> is in its life.</summary>
internal enum ConnectionState
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
