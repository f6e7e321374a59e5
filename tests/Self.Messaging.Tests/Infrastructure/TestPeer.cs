using System.Collections.Concurrent;
using System.Threading.Channels;
using Self.Crypto.Envelope;
using Self.Crypto.Olm;
using Self.Protocol.Frames;

namespace Self.Messaging.Tests.Infrastructure;

/// <summary>
/// The pieces of a <see cref="SelfEndpoint"/> composed by hand, so that a test can also see each incoming frame's Olm
/// message type before the pipeline processes it.
/// </summary>
public sealed class TestPeer : IAsyncDisposable
{
    private readonly Channel<ReceivedMessage> _received = Channel.CreateUnbounded<ReceivedMessage>();

    private TestPeer(TestIdentity identity, ClientStore store, MessagingConnection connection, SecureMessenger messenger, SelfRestClient rest)
    {
        Identity = identity;
        Store = store;
        Connection = connection;
        Messenger = messenger;
        Rest = rest;
        messenger.Subscribe((message, _) =>
        {
            _received.Writer.TryWrite(message);
            return ValueTask.CompletedTask;
        });
    }

    public TestIdentity Identity { get; }

    internal ClientStore Store { get; }

    internal MessagingConnection Connection { get; }

    internal SecureMessenger Messenger { get; }

    internal SelfRestClient Rest { get; }

    /// <summary>The Olm type of this device's envelope entry in every frame that arrived, in order.</summary>
    public ConcurrentQueue<OlmMessageType> IncomingEntryTypes { get; } = new();

    /// <summary>The frames that arrived (not yet processed when they arrived), in order.</summary>
    public ConcurrentQueue<MessageFrame> IncomingFrames { get; } = new();

    internal static async Task<TestPeer> StartAsync(
        TestNetwork network, TestIdentity identity, string storageDirectory, string storageKey = "peer-storage-key",
        Func<ReceivedMessage, ClientStoreBatch, object?>? prepareReceive = null, bool commitReceiveWithAnswer = false)
    {
        var store = await ClientStore.OpenAsync(storageDirectory, identity.Address, storageKey);
        var rest = network.RestFor(identity);
        var directory = new IdentityDirectory(rest);
        SecureMessenger? messenger = null;
        TestPeer? peer = null;
        var connection = new MessagingConnection(
            new MessagingConnectionOptions
            {
                MessagingUri = network.MessagingUrl,
                IdentityId = identity.Id,
                DeviceId = identity.DeviceId,
                SigningKey = identity.DeviceKey,
                ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
                ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
            },
            (frame, token) =>
            {
                peer!.Record(frame);
                return messenger!.HandleFrameAsync(frame, token);
            });
        messenger = new SecureMessenger(identity.Address, store, rest, directory, connection, prepareReceive: prepareReceive, commitReceiveWithAnswer: commitReceiveWithAnswer);
        peer = new TestPeer(identity, store, connection, messenger, rest);
        await messenger.InitializeAsync(identity.DeviceKey);
        await connection.ConnectAsync();
        return peer;
    }

    internal async Task<ReceivedMessage> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        return await _received.Reader.ReadAsync(cts.Token);
    }

    internal bool TryTakeReceived(out ReceivedMessage? message) => _received.Reader.TryRead(out message);

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        await Store.DisposeAsync();
    }

    /// <summary>Records the Olm type of our entry in a frame (what the sender's session produced).</summary>
    internal void Record(MessageFrame frame)
    {
        if (frame.Offset <= Messenger.ProcessedOffset)
        {
            return;
        }

        IncomingFrames.Enqueue(frame);
        try
        {
            var envelope = GroupEnvelope.Parse(frame.Ciphertext.Span);
            if (envelope.Recipients.TryGetValue(Identity.Address.ToString(), out var entry))
            {
                IncomingEntryTypes.Enqueue(entry.Type);
            }
        }
        catch (EnvelopeException)
        {
            // Tests that send malformed envelopes look at delivery, not at entry types.
        }
    }
}
