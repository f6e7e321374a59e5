using Self.Messaging.Tests.Infrastructure;

namespace Self.Messaging.Tests;

/// <summary>
/// "Persisted before sent, persisted before acknowledged" with the group commit and the pipelined receive: when the
/// store's commit does not happen (a crash between the batch and COMMIT), nothing leaves and nothing is acknowledged.
/// </summary>
public sealed class PipelineDurabilityTests(TestNetwork network) : IClassFixture<TestNetwork>
{
    [Fact]
    public async Task Send_CommitFails_NothingLeaves_NextSendArrivesFirst()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var appPeer = await TestPeer.StartAsync(network, app, TempDirectory.Create("app"));
        await using var userPeer = await TestPeer.StartAsync(network, user, TempDirectory.Create("user"));

        appPeer.Store.BeforeCommit = () => throw new IOException("crash before COMMIT");
        var error = await Assert.ThrowsAsync<IOException>(() => appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "never persisted")));
        Assert.Equal("crash before COMMIT", error.Message);
        appPeer.Store.BeforeCommit = null;

        await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "persisted"));
        Assert.Equal("persisted", TestNetwork.TextOf((await userPeer.NextAsync()).Jws));
        Assert.Single(userPeer.IncomingFrames);
    }

    [Fact]
    public async Task Receive_CommitFails_NotDeliveredNorAcknowledged_DeliveredAfterRestart()
    {
        var (app, user) = await ConnectedPairAsync();
        var userFolder = TempDirectory.Create("user");
        await using var appPeer = await TestPeer.StartAsync(network, app, TempDirectory.Create("app"));
        long offsetBefore;
        await using (var userPeer = await TestPeer.StartAsync(network, user, userFolder))
        {
            await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "first"));
            Assert.Equal("first", TestNetwork.TextOf((await userPeer.NextAsync()).Jws));
            offsetBefore = userPeer.Messenger.ProcessedOffset;

            var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            userPeer.Store.BeforeCommit = () =>
            {
                failed.TrySetResult();
                throw new IOException("crash before COMMIT");
            };
            await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "second"));
            await failed.Task.WaitAsync(TimeSpan.FromSeconds(30));

            // The crash: stop the connection, then let every queued step finish.
            await userPeer.Connection.DisposeAsync();
            await userPeer.Messenger.WhenReceivedAsync();
            Assert.Equal(offsetBefore, userPeer.Messenger.ProcessedOffset);
            Assert.Equal(offsetBefore, userPeer.Connection.ProcessedOffset);
            Assert.False(userPeer.TryTakeReceived(out _));
            Assert.Equal(offsetBefore, await userPeer.Store.GetProcessedOffsetAsync());
            userPeer.Store.BeforeCommit = null;
        }

        // Nothing was acknowledged past "first": the network hands "second" again and the stored sessions open it.
        await using var again = await TestPeer.StartAsync(network, user, userFolder);
        var second = await again.NextAsync();
        Assert.Equal("second", TestNetwork.TextOf(second.Jws));
        Assert.True(second.Offset > offsetBefore);
    }

    [Fact]
    public async Task Receive_ManyFramesInFlight_DeliveredInInboxOrder_OffsetOnlyAfterDurable()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var appPeer = await TestPeer.StartAsync(network, app, TempDirectory.Create("app"));
        var userFolder = TempDirectory.Create("user");
        await using var userPeer = await TestPeer.StartAsync(network, user, userFolder);

        // Concurrent sends: the sender groups their commits; the receiver pipelines their frames.
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "m" + i))));
        var received = new List<ReceivedMessage>();
        for (var i = 0; i < 40; i++)
        {
            var message = await userPeer.NextAsync();
            // Delivered only once durable: the store already holds at least this offset.
            Assert.True(await userPeer.Store.GetProcessedOffsetAsync() >= message.Offset);
            received.Add(message);
        }

        Assert.Equal(received.Select(m => m.Offset).Order(), received.Select(m => m.Offset));
        Assert.Equal(40, received.Select(m => TestNetwork.TextOf(m.Jws)).Distinct().Count());
    }

    [Fact]
    public async Task PrepareReceive_ItsChangesJoinTheReceiveCommit_DurableBeforeDelivery_NoteDelivered()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var appPeer = await TestPeer.StartAsync(network, app, TempDirectory.Create("app"));
        var prepared = 0;
        await using var userPeer = await TestPeer.StartAsync(network, user, TempDirectory.Create("user"), prepareReceive: (message, batch) =>
        {
            Interlocked.Increment(ref prepared);
            batch.SetValue("seen-" + message.Offset, [1]);
            return "note " + message.Offset;
        });
        await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "warm-up"));
        await userPeer.NextAsync();
        await userPeer.Messenger.WhenReceivedAsync();

        var before = userPeer.Store.TransactionCount;
        await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "second"));
        var received = await userPeer.NextAsync();

        // Delivered with its note, and the owner's change is already durable, written in the receive's one transaction.
        Assert.Equal("note " + received.Offset, received.Note);
        Assert.NotNull(await userPeer.Store.GetValueAsync("seen-" + received.Offset));
        Assert.Equal(1, userPeer.Store.TransactionCount - before);
        Assert.Equal(2, Volatile.Read(ref prepared));
    }

    [Fact]
    public async Task PrepareReceive_Throws_MessageDeliveredWithoutNoteOrItsHalfMadeChanges()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var appPeer = await TestPeer.StartAsync(network, app, TempDirectory.Create("app"));
        await using var userPeer = await TestPeer.StartAsync(network, user, TempDirectory.Create("user"), prepareReceive: (message, batch) =>
        {
            batch.SetValue("half-" + message.Offset, [1]);
            throw new InvalidOperationException("owner's step failed");
        });

        await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "still delivered"));
        var received = await userPeer.NextAsync();

        Assert.Equal("still delivered", TestNetwork.TextOf(received.Jws));
        Assert.Null(received.Note);
        Assert.Null(await userPeer.Store.GetValueAsync("half-" + received.Offset));
        Assert.True(await userPeer.Store.GetProcessedOffsetAsync() >= received.Offset);
    }

    [Fact]
    public async Task PrepareReceive_ReceiveCommitFails_OwnersChangeNotStoredEither()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var appPeer = await TestPeer.StartAsync(network, app, TempDirectory.Create("app"));
        await using var userPeer = await TestPeer.StartAsync(network, user, TempDirectory.Create("user"), prepareReceive: (message, batch) =>
        {
            batch.SetValue("seen-" + message.Offset, [1]);
            return null;
        });
        var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        userPeer.Store.BeforeCommit = () =>
        {
            failed.TrySetResult();
            throw new IOException("crash before COMMIT");
        };
        await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "lost with its change"));
        await failed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await userPeer.Connection.DisposeAsync();
        await userPeer.Messenger.WhenReceivedAsync();
        userPeer.Store.BeforeCommit = null;

        // All or nothing: neither the receive nor what the owner added to it.
        Assert.False(userPeer.TryTakeReceived(out _));
        Assert.Equal(0, await userPeer.Store.GetProcessedOffsetAsync());
        var frame = Assert.Single(userPeer.IncomingFrames);
        Assert.Null(await userPeer.Store.GetValueAsync("seen-" + frame.Offset));
    }

    private async Task<(TestIdentity App, TestIdentity User)> ConnectedPairAsync()
    {
        var app = await network.CreateAppAsync();
        var user = await network.RegisterUserAsync();
        await network.PermitAsync(user, app.Id);
        return (app, user);
    }
}
