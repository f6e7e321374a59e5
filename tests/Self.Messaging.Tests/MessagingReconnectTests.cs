using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Self.Messaging.Tests.Infrastructure;
using Self.Protocol;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;

namespace Self.Messaging.Tests;

/// <summary>
/// Drops caused by a server restart; each test has its own server so that restarting it disturbs no one. The clients'
/// back-off runs on a fake clock: while the server is down a dropped connection waits on it, and once the server is
/// back the test moves the clock on until the connection has come back (no real back-off delays).
/// </summary>
public sealed class MessagingReconnectTests : IAsyncLifetime
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMilliseconds(250);
    private readonly TestNetwork _network = new();
    private readonly FakeTimeProvider _time = new(TimeProvider.System.GetUtcNow());

    public Task InitializeAsync() => _network.InitializeAsync();

    public Task DisposeAsync() => _network.DisposeAsync();

    [Fact]
    public async Task ServerRestart_ConnectionReconnectsAndReauthenticatesWithProcessedOffset()
    {
        var user = await _network.RegisterUserAsync();
        var app = await _network.CreateAppAsync();
        var received = new ConcurrentQueue<string>();
        var arrivals = new SemaphoreSlim(0);
        var connectedCount = 0;
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var dropped = new TaskCompletionSource<MessagingDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        MessagingConnection? receiver = null;
        receiver = new MessagingConnection(
            Options(app),
            (frame, _) =>
            {
                var body = Encoding.UTF8.GetString(frame.Ciphertext.Span);
                received.Enqueue(body);
                // Only what the layer above has "durably processed" moves the offset on.
                if (body.StartsWith("ok", StringComparison.Ordinal))
                {
                    receiver!.AdvanceProcessedOffset(frame.Offset);
                }

                arrivals.Release();
                return ValueTask.CompletedTask;
            });
        receiver.Connected += (_, _) =>
        {
            if (Interlocked.Increment(ref connectedCount) == 2)
            {
                reconnected.TrySetResult();
            }
        };
        receiver.Disconnected += (_, e) => dropped.TrySetResult(e);
        await using var sender = new MessagingConnection(Options(user), (_, _) => ValueTask.CompletedTask);
        await using (receiver)
        {
            await receiver.ConnectAsync();
            await sender.ConnectAsync();
            await sender.SendAsync(MessagingConnectionTests.Frame(user.Address.ToString(), app.Address.ToString(), "ok-1"));
            await sender.SendAsync(MessagingConnectionTests.Frame(user.Address.ToString(), app.Address.ToString(), "not-processed-2"));
            await WaitForAsync(arrivals, 2);

            await _network.RestartAsync();

            var drop = await dropped.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(drop.WillReconnect);
            Assert.False(drop.Superseded);
            await AdvanceUntilAsync(() => reconnected.Task.IsCompleted && sender.State == ConnectionState.Connected, "both connections are back");
            await reconnected.Task.WaitAsync(TimeSpan.FromSeconds(30));

            // The unprocessed message comes again; the processed one does not.
            await WaitForAsync(arrivals, 1);
            await sender.SendAsync(MessagingConnectionTests.Frame(user.Address.ToString(), app.Address.ToString(), "ok-3"));
            await WaitForAsync(arrivals, 1);

            Assert.Equal(["ok-1", "not-processed-2", "not-processed-2", "ok-3"], received);
            Assert.Equal(ConnectionState.Connected, receiver.State);
        }
    }

    [Fact]
    public async Task Endpoint_ServerRestart_SendsAgainAfterReconnecting()
    {
        var user = await _network.RegisterUserAsync();
        var app = await _network.CreateAppAsync();
        await _network.PermitAsync(user, app.Id);
        await using var userEndpoint = new SelfEndpoint(_network.EndpointOptions(user, TempDirectory.Create("user"), time: _time) with { ReconnectMaxDelay = MaxBackoff });
        await using var appEndpoint = new SelfEndpoint(_network.EndpointOptions(app, TempDirectory.Create("app"), time: _time) with { ReconnectMaxDelay = MaxBackoff });
        var texts = new ConcurrentQueue<string>();
        var arrivals = new SemaphoreSlim(0);
        userEndpoint.Subscribe((message, _) =>
        {
            texts.Enqueue(TestNetwork.TextOf(message.Jws));
            arrivals.Release();
            return ValueTask.CompletedTask;
        });
        await userEndpoint.StartAsync();
        await appEndpoint.StartAsync();
        await appEndpoint.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "before"));
        await WaitForAsync(arrivals, 1);

        await _network.RestartAsync();
        var send = appEndpoint.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "after"));
        await AdvanceUntilAsync(() => send.IsCompleted && texts.Count == 2, "the app has sent again and the user has received it");
        await send;
        await WaitForAsync(arrivals, 1);

        Assert.Equal(["before", "after"], texts);
    }

    [Fact]
    public async Task Reconnect_DeviceKeyRevokedMeanwhile_StopsWithoutRetrying()
    {
        // Timestamps in the past, so that the revocation is in force the moment it is stored.
        var now = TimeProvider.System.GetUtcNow();
        var firstKey = SigningKey.Generate();
        var secondKey = SigningKey.Generate();
        var root = HistoryOperations.CreateIdentity(firstKey, "1", SigningKey.Generate(), now.AddSeconds(-60));
        var id = await _network.Anonymous().RegisterIdentityAsync(root);
        var user = new TestIdentity(id, "1", firstKey, SigningKey.Generate());
        var rest = _network.RestFor(user);
        var graph = SignatureGraph.Load(await rest.GetHistoryAsync(id));
        await rest.AppendHistoryAsync(HistoryOperations.AddDevice(graph, firstKey, secondKey, "2", now.AddSeconds(-30)));

        var stopped = new TaskCompletionSource<MessagingDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var connection = new MessagingConnection(Options(user), (_, _) => ValueTask.CompletedTask);
        connection.Disconnected += (_, e) =>
        {
            if (!e.WillReconnect)
            {
                stopped.TrySetResult(e);
            }
        };
        await connection.ConnectAsync();

        var secondRest = _network.RestFor(user with { DeviceId = "2", DeviceKey = secondKey });
        graph = SignatureGraph.Load(await secondRest.GetHistoryAsync(id));
        await secondRest.AppendHistoryAsync(HistoryOperations.RevokeDevice(graph, secondKey, "1", now.AddSeconds(-10)));
        await _network.RestartAsync();

        await AdvanceUntilAsync(() => stopped.Task.IsCompleted, "the connection has stopped");
        var args = await stopped.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.IsType<AuthenticationFailedException>(args.Exception);
        Assert.Equal(ConnectionState.Failed, connection.State);
        await Assert.ThrowsAsync<AuthenticationFailedException>(
            () => connection.SendAsync(MessagingConnectionTests.Frame(user.Address.ToString(), user.Address.ToString(), "x")));
    }

    private MessagingConnectionOptions Options(TestIdentity identity) => new()
    {
        MessagingUri = _network.MessagingUrl,
        IdentityId = identity.Id,
        DeviceId = identity.DeviceId,
        SigningKey = identity.DeviceKey,
        ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = MaxBackoff,
        ConnectWaitTimeout = TimeSpan.FromSeconds(30),
        TimeProvider = _time,
    };

    /// <summary>Moves the fake clock on by the longest back-off until <paramref name="done"/> (the server is up again,
    /// so the first attempt after each step can succeed).</summary>
    private Task AdvanceUntilAsync(Func<bool> done, string message) =>
        Polling.WaitUntilAsync(
            () =>
            {
                if (done())
                {
                    return true;
                }

                _time.Advance(MaxBackoff);
                return false;
            },
            message);

    private static async Task WaitForAsync(SemaphoreSlim arrivals, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.True(await arrivals.WaitAsync(TimeSpan.FromSeconds(30)), "a message did not arrive");
        }
    }
}
