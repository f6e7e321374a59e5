using Self.Messaging.Tests.Infrastructure;

namespace Self.Messaging.Tests;

/// <summary>
/// <see cref="SelfEndpointOptions.CommitReceiveWithAnswer"/>: a received message and the answer its handler sends are
/// committed in one transaction, durable before the answer leaves and before the offset is acknowledged; a crash before
/// that commit hands the message again after the restart.
/// </summary>
public sealed class ReceiveWithAnswerTests(TestNetwork network) : IClassFixture<TestNetwork>
{
    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 2)]
    public async Task Answer_CarriesItsReceive_OneTransaction_DurableBeforeItLeaves(bool commitWithAnswer, int transactions)
    {
        var (app, user) = await ConnectedPairAsync();
        await using var appPeer = await TestPeer.StartAsync(network, app, TempDirectory.Create("app"));
        await using var userPeer = await TestPeer.StartAsync(network, user, TempDirectory.Create("user"), commitReceiveWithAnswer: commitWithAnswer);
        var storedAtDelivery = new List<long>();
        using var answering = Answer(userPeer, app.Id, onDelivery: async () => storedAtDelivery.Add(await userPeer.Store.GetProcessedOffsetAsync()));

        // The first exchange makes the sessions (a pre-key message changes the account: that receive is not held back).
        await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "warm-up"));
        Assert.Equal("re: warm-up", TestNetwork.TextOf((await appPeer.NextAsync()).Jws));
        await userPeer.Messenger.WhenReceivedAsync();

        var before = userPeer.Store.TransactionCount;
        await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "second"));
        Assert.Equal("re: second", TestNetwork.TextOf((await appPeer.NextAsync()).Jws));
        Assert.Equal("warm-up", TestNetwork.TextOf((await userPeer.NextAsync()).Jws));
        var received = await userPeer.NextAsync();
        await userPeer.Messenger.WhenReceivedAsync();

        Assert.Equal(transactions, userPeer.Store.TransactionCount - before);
        Assert.Equal(received.Offset, await userPeer.Store.GetProcessedOffsetAsync());
        Assert.Equal(received.Offset, userPeer.Messenger.ProcessedOffset);
        if (commitWithAnswer)
        {
            // Handed over before its commit; that commit then went with the answer.
            Assert.True(storedAtDelivery[^1] < received.Offset);
            Assert.NotNull(received.Commit);
        }
        else
        {
            Assert.Equal(received.Offset, storedAtDelivery[^1]);
            Assert.Null(received.Commit);
        }
    }

    [Fact]
    public async Task NoAnswer_ReceiveCommittedWhenTheHandlersEnd_AcknowledgedOnlyThen()
    {
        var (app, user) = await ConnectedPairAsync();
        await using var appPeer = await TestPeer.StartAsync(network, app, TempDirectory.Create("app"));
        await using var userPeer = await TestPeer.StartAsync(network, user, TempDirectory.Create("user"), commitReceiveWithAnswer: true);
        using (Answer(userPeer, app.Id))
        {
            await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "warm-up"));
            await appPeer.NextAsync();
            await userPeer.NextAsync();
            await userPeer.Messenger.WhenReceivedAsync();
        }

        var delivered = new TaskCompletionSource<ReceivedMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var holding = userPeer.Messenger.Subscribe(async (message, _) =>
        {
            delivered.TrySetResult(message);
            await release.Task;
        });
        await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "held"));
        var held = await delivered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(await userPeer.Store.GetProcessedOffsetAsync() < held.Offset);
        Assert.True(userPeer.Messenger.ProcessedOffset < held.Offset);
        Assert.True(userPeer.Connection.ProcessedOffset < held.Offset);

        release.SetResult();
        await userPeer.Messenger.WhenReceivedAsync();
        Assert.Equal(held.Offset, await userPeer.Store.GetProcessedOffsetAsync());
        Assert.Equal(held.Offset, userPeer.Connection.ProcessedOffset);
    }

    [Fact]
    public async Task CrashBeforeTheJointCommit_NothingLeaves_NothingAcknowledged_AnsweredAfterRestart()
    {
        var (app, user) = await ConnectedPairAsync();
        var userFolder = TempDirectory.Create("user");
        await using var appPeer = await TestPeer.StartAsync(network, app, TempDirectory.Create("app"));
        long offsetBefore;
        await using (var userPeer = await TestPeer.StartAsync(network, user, userFolder, commitReceiveWithAnswer: true))
        {
            var failure = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
            using var answering = Answer(userPeer, app.Id, onFailure: ex => failure.TrySetResult(ex));
            await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "warm-up"));
            await appPeer.NextAsync();
            await userPeer.Messenger.WhenReceivedAsync();
            offsetBefore = await userPeer.Store.GetProcessedOffsetAsync();
            var framesAtApp = appPeer.IncomingFrames.Count;

            userPeer.Store.BeforeCommit = () => throw new IOException("crash before COMMIT");
            await appPeer.Messenger.SendAsync(user.Id, TestNetwork.Message(app, user.Id, "second"));
            Assert.Equal("crash before COMMIT", (await failure.Task.WaitAsync(TimeSpan.FromSeconds(30))).Message);

            // The crash: stop the connection, then let every queued step finish.
            await userPeer.Connection.DisposeAsync();
            await userPeer.Messenger.WhenReceivedAsync();
            Assert.Equal(offsetBefore, await userPeer.Store.GetProcessedOffsetAsync());
            Assert.Equal(offsetBefore, userPeer.Messenger.ProcessedOffset);
            Assert.Equal(offsetBefore, userPeer.Connection.ProcessedOffset);
            Assert.Equal(framesAtApp, appPeer.IncomingFrames.Count);
            userPeer.Store.BeforeCommit = null;
        }

        // Neither the receive nor the answer was stored: the network hands the message again, and it is answered.
        await using var again = await TestPeer.StartAsync(network, user, userFolder, commitReceiveWithAnswer: true);
        using var answeringAgain = Answer(again, app.Id);
        Assert.Equal("re: second", TestNetwork.TextOf((await appPeer.NextAsync()).Jws));
        var second = await again.NextAsync();
        await again.Messenger.WhenReceivedAsync();
        Assert.True(second.Offset > offsetBefore);
        Assert.Equal(second.Offset, await again.Store.GetProcessedOffsetAsync());
    }

    /// <summary>Answers every message with "re: " and its text, as the handler of a device would.</summary>
    private static IDisposable Answer(TestPeer peer, string appId, Func<Task>? onDelivery = null, Action<Exception>? onFailure = null) =>
        peer.Messenger.Subscribe(async (message, _) =>
        {
            if (onDelivery is not null)
            {
                await onDelivery();
            }

            try
            {
                var reply = TestNetwork.Message(peer.Identity, appId, "re: " + TestNetwork.TextOf(message.Jws));
                await peer.Messenger.SendAsync(appId, reply, answering: message);
            }
            catch (Exception ex) when (onFailure is not null)
            {
                onFailure(ex);
            }
        });

    private async Task<(TestIdentity App, TestIdentity User)> ConnectedPairAsync()
    {
        var app = await network.CreateAppAsync();
        var user = await network.RegisterUserAsync();
        await network.PermitAsync(user, app.Id);
        return (app, user);
    }
}
