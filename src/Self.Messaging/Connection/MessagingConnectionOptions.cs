using System.Net.WebSockets;
using Self.Protocol.Keys;

namespace Self.Messaging;

/// <summary>Settings of a <see cref="MessagingConnection"/>.</summary>
internal sealed record MessagingConnectionOptions
{
    /// <summary>The server's largest accepted frame (spec §6: 1 MiB).</summary>
    public const int DefaultMaxFrameBytes = 1024 * 1024;

    /// <summary>The websocket endpoint, e.g. <c>ws://127.0.0.1:8080/v2/messaging</c>.</summary>
    public required Uri MessagingUri { get; init; }

    /// <summary>The Self ID or app id this connection authenticates as.</summary>
    public required string IdentityId { get; init; }

    /// <summary>The device id of this endpoint; the inbox is <c>IdentityId:DeviceId</c>.</summary>
    public required string DeviceId { get; init; }

    /// <summary>The device's current key; signs the auth token of each (re)connection.</summary>
    public required SigningKey SigningKey { get; init; }

    /// <summary>Clock for auth tokens, time-outs and reconnect delays.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>How many times the first connection is retried after a connection failure (never after an auth refusal).</summary>
    public int InitialConnectRetries { get; init; } = 3;

    /// <summary>First reconnect delay; it doubles per failed attempt up to <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectBaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest delay between two reconnect attempts.</summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long to wait for the websocket upgrade and for the server's answer to the Auth frame.</summary>
    public TimeSpan AuthenticationTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long <see cref="MessagingConnection.SendAsync"/> waits for a dropped connection to come back.</summary>
    public TimeSpan ConnectWaitTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Interval of websocket pings from the client.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A connection whose ping gets no pong within this time is treated as dropped (spec §6: Go clients allow 90 s).</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Frames larger than this are refused locally before sending.</summary>
    public int MaxFrameBytes { get; init; } = DefaultMaxFrameBytes;

    /// <summary>Optional hook to adjust the socket (proxy, headers) before each connection.</summary>
    public Action<ClientWebSocketOptions>? ConfigureWebSocket { get; init; }
}
