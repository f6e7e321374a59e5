using System.Collections.Concurrent;
using Self.Network.Distributed.Tests.Infrastructure;
using Self.Network.Nats;

namespace Self.Network.Distributed.Tests.Storage;

/// <summary>Announcements between instances, each with a notifier on a NATS connection of its own.</summary>
[Collection(ServicesCollection.Name)]
public sealed class NatsInboxNotifierTests(ServicesFixture services) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly SelfNatsOptions _options = services.NewNats();
    private readonly List<IAsyncDisposable> _owned = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var item in Enumerable.Reverse(_owned))
        {
            await item.DisposeAsync();
        }
    }

    [Fact]
    public async Task Publish_OnOneInstance_ReachesSubscribersOnTheOtherWithTheOffset()
    {
        var a = await StartAsync();
        var b = await StartAsync();
        var heard = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = b.Subscribe("84099724068:phone.2", offset => heard.TrySetResult(offset));

        a.Publish("84099724068:phone.2", 1234);

        Assert.Equal(1234, await heard.Task.WaitAsync(Patience));
    }

    [Fact]
    public async Task Publish_OnTheSameInstance_IsHeardOnceRightAwayAndNotEchoed()
    {
        var a = await StartAsync();
        var b = await StartAsync();
        var onA = new ConcurrentQueue<long>();
        var barrier = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var heardOnB = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var local = a.Subscribe("84099724068:1", onA.Enqueue);
        using var marker = a.Subscribe("84099724068:marker", _ => barrier.TrySetResult());
        using var remote = b.Subscribe("84099724068:1", _ => heardOnB.TrySetResult());

        a.Publish("84099724068:1", 7);

        // Heard locally during Publish, without a round trip.
        Assert.Equal([7L], onA);

        // Once B has it, the NATS server has already queued any echo for A; B's marker is queued behind it.
        await heardOnB.Task.WaitAsync(Patience);
        b.Publish("84099724068:marker", 1);
        await barrier.Task.WaitAsync(Patience);
        Assert.Equal([7L], onA);
    }

    [Fact]
    public async Task Subscription_Disposed_HearsNothingMore()
    {
        var a = await StartAsync();
        var b = await StartAsync();
        var stale = 0;
        var barrier = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = a.Subscribe("84099724068:1", _ => Interlocked.Increment(ref stale));
        using var marker = a.Subscribe("84099724068:2", _ => barrier.TrySetResult());

        subscription.Dispose();
        b.Publish("84099724068:1", 1);
        b.Publish("84099724068:2", 2);

        // B's two announcements arrive in the order B sent them.
        await barrier.Task.WaitAsync(Patience);
        Assert.Equal(0, Volatile.Read(ref stale));
    }

    [Fact]
    public async Task NatsConnection_Reopened_EverySubscriberIsToldToReadItsInboxAgain()
    {
        await using var server = await NatsServer.StartAsync();
        var a = await StartAsync(server.Url);
        var reread = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = a.Subscribe("84099724068:1", offset => reread.TrySetResult(offset));

        await server.KillAndRestartAsync();

        Assert.Equal(0, await reread.Task.WaitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public void Options_NotifySubjectsInsideTheInboxSubjects_AreRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => new SelfNatsConnection(_options with { NotifySubjectPrefix = _options.InboxSubjectPrefix + ".notify" }));

        Assert.Contains("NotifySubjectPrefix", error.Message, StringComparison.Ordinal);
    }

    private async Task<NatsInboxNotifier> StartAsync(string? url = null)
    {
        var connection = new SelfNatsConnection(_options with { Url = url ?? _options.Url });
        _owned.Add(connection);
        var notifier = new NatsInboxNotifier(connection);
        _owned.Add(notifier);
        await notifier.StartAsync(CancellationToken.None);
        return notifier;
    }
}
