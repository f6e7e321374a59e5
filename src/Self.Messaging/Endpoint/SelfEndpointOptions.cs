using System.Net.WebSockets;
using Microsoft.Extensions.Logging;
using Self.Protocol.Keys;

namespace Self.Messaging;

/// <summary>Settings of a <see cref="SelfEndpoint"/>: who it is, where the server is, where it keeps its state.</summary>
internal sealed record SelfEndpointOptions
{
    /// <summary>The Self ID or app id.</summary>
    public required string IdentityId { get; init; }

    /// <summary>This device's id (apps: <c>"1"</c>).</summary>
    public required string DeviceId { get; init; }

    /// <summary>This device's current key (it signs auth tokens and messages; the Olm account is made from it).</summary>
    public required SigningKey SigningKey { get; init; }

    /// <summary>The REST base address, e.g. <c>http://127.0.0.1:8080/</c>.</summary>
    public required Uri ApiUrl { get; init; }

    /// <summary>The websocket endpoint, e.g. <c>ws://127.0.0.1:8080/v2/messaging</c>.</summary>
    public required Uri MessagingUrl { get; init; }

    /// <summary>The folder of the local store (one SQLite file per endpoint).</summary>
    public required string StorageDirectory { get; init; }

    /// <summary>The secret that encrypts the local store; opening a store with another key fails.</summary>
    public required string StorageKey { get; init; }

    /// <summary>Clock for tokens, expiry, retries and back-off.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Where logs go; none when <see langword="null"/>.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>An HTTP client to use (not disposed by the endpoint); a new one when <see langword="null"/>.</summary>
    public HttpClient? HttpClient { get; init; }

    /// <summary>Retries of a REST call after a connection failure or 5xx.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>First delay between REST retries (it doubles).</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>First delay before reconnecting the websocket (it doubles up to <see cref="ReconnectMaxDelay"/>).</summary>
    public TimeSpan ReconnectBaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest delay between reconnect attempts.</summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a send waits for a dropped connection to come back.</summary>
    public TimeSpan ConnectWaitTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a fetched key history is used before it is fetched again.</summary>
    public TimeSpan HistoryMaxAge { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a recipient's device list is reused before it is fetched again; a failed send always drops it. Zero
    /// fetches it for every message.
    /// </summary>
    public TimeSpan DeviceListMaxAge { get; init; } = SecureMessenger.DefaultDeviceListMaxAge;

    /// <summary>Optional hook to adjust the websocket before each connection.</summary>
    public Action<ClientWebSocketOptions>? ConfigureWebSocket { get; init; }

    /// <summary>
    /// Runs for each verified message before its receive commit is queued, and may add the owner's own changes to that
    /// commit (the SDK removes the open request an answer ends), so that they land in the same transaction — one fsync
    /// instead of two. What it returns becomes <see cref="ReceivedMessage.Note"/>. It must be quick; should it throw, what it
    /// added is dropped, the error is logged and the message is delivered without a note.
    /// </summary>
    public Func<ReceivedMessage, ClientStoreBatch, object?>? PrepareReceive { get; init; }

    /// <summary>
    /// For an endpoint that answers what it receives (a user's device): a received message is delivered before its
    /// commit, which waits in <see cref="ReceivedMessage.Commit"/> so that the answer sent with <c>answering:</c> (or the
    /// owner's changes, <see cref="ClientStore.CommitWithReceiveAsync"/>) carries it — one transaction and one fsync instead of two,
    /// still durable before the answer leaves and before the offset is acknowledged. Frames are then opened one at a
    /// time. A crash before that commit hands the message again after the restart, as if it had not arrived. Off by
    /// default: delivered messages are then durable already.
    /// </summary>
    public bool CommitReceiveWithAnswer { get; init; }
}
