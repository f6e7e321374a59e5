using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Self.Network.Distributed.Tests.Infrastructure;
using Self.Network.Nats;
using Self.Network.Storage;
using Self.Network.Tests.Storage;

namespace Self.Network.Distributed.Tests.Storage;

/// <summary>The NATS claims hold to the single-instance contract.</summary>
[Collection(ServicesCollection.Name)]
public sealed class NatsAddressClaimsContractTests(ServicesFixture services) : AddressClaimsContract
{
    private readonly List<IAsyncDisposable> _owned = [];

    protected override async Task<IAddressClaims> CreateClaimsAsync()
    {
        var connection = new SelfNatsConnection(services.NewNats());
        _owned.Add(connection);
        var claims = new NatsAddressClaims(connection);
        _owned.Add(claims);
        await claims.StartAsync(CancellationToken.None);
        return claims;
    }

    public override async Task DisposeAsync()
    {
        foreach (var item in Enumerable.Reverse(_owned))
        {
            await item.DisposeAsync();
        }
    }
}

/// <summary>Claims across instances, each with its own NATS connection (and clock, where the test says so).</summary>
[Collection(ServicesCollection.Name)]
public sealed class NatsAddressClaimsTests(ServicesFixture services) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly SelfNatsOptions _options = services.NewNats();
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly Dictionary<NatsAddressClaims, SelfNatsConnection> _connections = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var item in Enumerable.Reverse(_owned))
        {
            await item.DisposeAsync();
        }
    }

    [Fact]
    public async Task Claim_OnB_SupersedesTheOlderClaimOnA()
    {
        var a = await StartAsync(new FakeTimeProvider(Start));
        var b = await StartAsync(new FakeTimeProvider(Start.AddSeconds(1)));
        var onA = Signal();
        var onB = Signal();
        using var older = a.Claim("84099724068:1", () => onA.TrySetResult());

        using var newer = b.Claim("84099724068:1", () => onB.TrySetResult());

        await onA.Task.WaitAsync(Patience);
        Assert.Equal(0, a.Count);
        Assert.Equal(1, b.Count);
        Assert.False(onB.Task.IsCompleted);
    }

    [Fact]
    public async Task Claim_OnAnInstanceWhoseClockIsBehind_StillWinsOnceItHasHeardTheOlderClaim()
    {
        // B's clock is a minute behind A's: by the clocks alone, B's later claim would look older.
        var a = await StartAsync(new FakeTimeProvider(Start.AddMinutes(1)));
        var b = await StartAsync(new FakeTimeProvider(Start));
        var onA = Signal();
        var markerOnB = Signal();
        using var marker = b.Claim("84099724068:marker", () => markerOnB.TrySetResult());
        using var older = a.Claim("84099724068:1", () => onA.TrySetResult());
        using var markerOnA = a.Claim("84099724068:marker", () => { });

        // A's marker claim comes after its claim of :1 on the same connection: once B has heard one, it has heard both.
        await markerOnB.Task.WaitAsync(Patience);
        var onB = Signal();
        using var newer = b.Claim("84099724068:1", () => onB.TrySetResult());

        await onA.Task.WaitAsync(Patience);
        Assert.False(onB.Task.IsCompleted);
        Assert.Equal(1, b.Count);
    }

    [Fact]
    public async Task Claim_ByAnInstanceThatMissedANewerClaim_IsSupersededWhenTheHolderAnswers()
    {
        // A claims before B listens, so B never hears it; B's clock is behind, so B's claim is the older one.
        var a = await StartAsync(new FakeTimeProvider(Start.AddMinutes(1)));
        var onA = Signal();
        using var held = a.Claim("84099724068:1", () => onA.TrySetResult());

        // Only once the NATS server has A's announcement (a ping after it on A's connection) does B subscribe: had B
        // heard it, B's claim would rightly be the newer one, and A the one to close.
        await FlushAsync(a);
        var b = await StartAsync(new FakeTimeProvider(Start));
        var onB = Signal();

        using var stale = b.Claim("84099724068:1", () => onB.TrySetResult());

        // A hears an older claim of an address it holds and says so again; B then closes its own.
        await onB.Task.WaitAsync(Patience);
        Assert.False(onA.Task.IsCompleted);
        Assert.Equal(1, a.Count);
        Assert.Equal(0, b.Count);
    }

    [Fact]
    public async Task Claim_OnTwoInstancesAtTheSameMoment_ExactlyOneSurvivesOnBoth()
    {
        // The same clock reading on both: only the order both compute (stamp, then instance id) can decide.
        var time = new FakeTimeProvider(Start);
        var a = await StartAsync(time);
        var b = await StartAsync(time);
        var onA = Signal();
        var onB = Signal();
        using var go = new Barrier(2);

        var claims = await Task.WhenAll(
            Task.Run(() =>
            {
                go.SignalAndWait();
                return a.Claim("84099724068:1", () => onA.TrySetResult());
            }),
            Task.Run(() =>
            {
                go.SignalAndWait();
                return b.Claim("84099724068:1", () => onB.TrySetResult());
            }));

        // A claim is only ever superseded by a newer one, so the newest is never closed: once one side has let go,
        // the other holds the winning claim for good.
        var lost = await Task.WhenAny(onA.Task, onB.Task).WaitAsync(Patience);
        await WaitUntilAsync(() => a.Count + b.Count == 1);
        Assert.Equal(lost == onA.Task ? (0, 1) : (1, 0), (a.Count, b.Count));
        Assert.False((lost == onA.Task ? onB : onA).Task.IsCompleted);
        foreach (var claim in claims)
        {
            claim.Dispose();
        }
    }

    [Fact]
    public async Task Claim_Disposed_IsNotSupersededAndAnotherInstanceMayClaim()
    {
        var a = await StartAsync(new FakeTimeProvider(Start));
        var b = await StartAsync(new FakeTimeProvider(Start.AddSeconds(1)));
        var released = 0;
        var claim = a.Claim("84099724068:1", () => Interlocked.Increment(ref released));
        var markerOnA = Signal();
        using var marker = a.Claim("84099724068:marker", () => markerOnA.TrySetResult());

        claim.Dispose();
        using var other = b.Claim("84099724068:1", () => { });
        using var markerOnB = b.Claim("84099724068:marker", () => { });

        // B's marker claim follows its claim of :1 on the same connection: once A has heard one, it has heard both.
        await markerOnA.Task.WaitAsync(Patience);
        Assert.Equal(0, Volatile.Read(ref released));
        Assert.Equal(0, a.Count);
    }

    [Fact]
    public async Task AddSelfNetworkNats_ReplacesTheLocalClaimsWhicheverComesFirst()
    {
        foreach (var natsFirst in new[] { true, false })
        {
            var services = new ServiceCollection();
            if (natsFirst)
            {
                services.AddSelfNetworkNats(_options);
            }

            services.AddSelfNetwork(o => o with { DataDirectory = Path.GetTempPath() });
            if (!natsFirst)
            {
                services.AddSelfNetworkNats(_options);
            }

            await using var provider = services.BuildServiceProvider();
            Assert.IsType<NatsAddressClaims>(provider.GetService(typeof(IAddressClaims)));
        }
    }

    [Fact]
    public void Options_ClaimSubjectsOverlappingTheOthers_AreRefused()
    {
        var inside = Assert.Throws<ArgumentException>(() => new SelfNatsConnection(_options with { ClaimSubjectPrefix = _options.NotifySubjectPrefix + ".claims" }));
        var same = Assert.Throws<ArgumentException>(() => new SelfNatsConnection(_options with { ClaimSubjectPrefix = _options.InboxSubjectPrefix }));

        Assert.Contains("ClaimSubjectPrefix", inside.Message, StringComparison.Ordinal);
        Assert.Contains("ClaimSubjectPrefix", same.Message, StringComparison.Ordinal);
    }

    private static TaskCompletionSource Signal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    /// <summary>Returns once the NATS server has processed everything <paramref name="claims"/> has published.</summary>
    private Task FlushAsync(NatsAddressClaims claims) => _connections[claims].Connection.PingAsync().AsTask();

    private async Task<NatsAddressClaims> StartAsync(TimeProvider time)
    {
        var connection = new SelfNatsConnection(_options);
        _owned.Add(connection);
        var claims = new NatsAddressClaims(connection, time);
        _connections[claims] = connection;
        _owned.Add(claims);
        await claims.StartAsync(CancellationToken.None);
        return claims;
    }
}
