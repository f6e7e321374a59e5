namespace Self.Sdk;

/// <summary>Where a <see cref="SelfClient"/> is in its life, as <see cref="SelfClient.Status"/> reports it.</summary>
public enum SelfClientStatus
{
    /// <summary><see cref="SelfClient.StartAsync"/> has not been called.</summary>
    NotStarted,

    /// <summary>Starting: checking the app's key and opening the messaging connection.</summary>
    Starting,

    /// <summary>Started and connected: requests go out and answers come in.</summary>
    Connected,

    /// <summary>Started, but the messaging connection is down; the client is reconnecting by itself.</summary>
    Reconnecting,

    /// <summary>The start failed (see <see cref="SelfClient.StartFailure"/>), or the network refused the connection for good.</summary>
    Failed,

    /// <summary>Disposed.</summary>
    Stopped,
}
