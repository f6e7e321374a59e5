using Microsoft.Extensions.DependencyInjection;
using Self.Device;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Network.Storage;
using Self.Sdk;
using Self.Sdk.Authentication;

namespace Self.EndToEnd.Tests.Reliability;

/// <summary>
/// A device that answers on its own (its consent policy) has no person to press the button again: when the network did
/// not take the answer — the server could not store it, or stored it but the acknowledgement never came — the device
/// sends the same signed answer again, and the app ends the request once. Seen in the chaos test, where an answer sent
/// while the stream had no leader was lost and the request ended Expired.
/// </summary>
public sealed class AutomaticAnswerRetryTests(AutomaticAnswerRetryTests.FaultyNetwork network) : IClassFixture<AutomaticAnswerRetryTests.FaultyNetwork>, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _storage = new("answer-retry");

    public void Dispose() => _storage.Dispose();

    [Fact]
    public async Task PolicyAnswer_ServerCannotStoreItTwice_DeviceSendsItAgainAndAppGetsAccepted()
    {
        using var logs = new LogRecorder();
        var (app, client, device) = await StartAsync(logs);
        await using var _ = client;
        await using var __ = device;
        network.Inboxes.FailNext(app.AppId, 2, storeFirst: false);

        var response = await client.Authentication.RequestAsync(device.SelfId).WaitAsync(Patience);

        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
        Assert.Equal(0, network.Inboxes.FailuresLeft(app.AppId));
        Assert.Equal(2, logs.Entries.Count(static e => e.EventId.Id == 5017));
        Assert.DoesNotContain(logs.Entries, static e => e.EventId.Id == 5009);
    }

    [Fact]
    public async Task PolicyAnswer_StoredButAcknowledgementLost_AppEndsRequestOnceAndDropsTheCopyAsReplay()
    {
        using var logs = new LogRecorder();
        var (app, client, device) = await StartAsync(logs);
        await using var _ = client;
        await using var __ = device;
        var outcomes = new List<AuthenticationResponse>();
        using var subscription = client.Authentication.Subscribe(r => { lock (outcomes) { outcomes.Add(r); } });
        network.Inboxes.FailNext(app.AppId, 1, storeFirst: true);

        var response = await client.Authentication.RequestAsync(device.SelfId).WaitAsync(Patience);

        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
        Assert.Single(logs.Entries, static e => e.EventId.Id == 5017);

        // The first copy was stored after all: the app reads both, and drops the second (the same signed answer) by its jti.
        await logs.WaitForAsync(static e => e.EventId.Id == 2502 && e.Message.Contains("jti already processed", StringComparison.Ordinal), "the copy is dropped as a replay");
        var later = await client.Authentication.RequestAsync(device.SelfId).WaitAsync(Patience);
        await Polling.WaitUntilAsync(() => { lock (outcomes) { return outcomes.Exists(o => o.ConversationId == later.ConversationId); } }, "the later outcome is published");
        lock (outcomes)
        {
            Assert.Single(outcomes, o => o.ConversationId == response.ConversationId);
        }
    }

    [Fact]
    public async Task PolicyAnswer_NeverStored_DeviceStopsAtTheExpiryAndAppEndsExpired()
    {
        using var logs = new LogRecorder();
        var (app, client, device) = await StartAsync(logs);
        await using var _ = client;
        await using var __ = device;
        network.Inboxes.FailNext(app.AppId, int.MaxValue, storeFirst: false);
        try
        {
            var response = await client.Authentication.RequestAsync(device.SelfId, new AuthenticationRequestOptions { Expiry = TimeSpan.FromSeconds(3) }).WaitAsync(Patience);

            Assert.Equal(AuthenticationStatus.Expired, response.Status);
            var gaveUp = await logs.WaitForAsync(static e => e.EventId.Id == 5009, "the device gives up");
            Assert.Equal(response.ConversationId, gaveUp["Cid"]);
            Assert.InRange(logs.Entries.Count(static e => e.EventId.Id == 5017), 1, 10);
        }
        finally
        {
            network.Inboxes.FailNext(app.AppId, 0, storeFirst: false);
        }
    }

    private async Task<(Self.Sdk.Apps.CreatedApp App, SelfClient Client, SelfDevice Device)> StartAsync(LogRecorder logs)
    {
        var app = await TestIdentities.CreateAppAsync(network, "Retry App");
        var client = new SelfClient(TestIdentities.ClientOptions(network, app, _storage) with { LoggerFactory = logs });
        await client.StartAsync();
        var device = await SelfDevice.RegisterAsync(
            TestDevices.Options(network, _storage.Sub("device-" + Guid.NewGuid().ToString("N")), ConsentPolicies.AlwaysAccept) with { LoggerFactory = logs });
        await device.ConnectAsync(app.AppId);
        return (app, client, device);
    }

    /// <summary>A network whose inbox store can be told to fail the next appends to an app's inboxes.</summary>
    public sealed class FaultyNetwork : NetworkFixture
    {
        public FaultyNetwork()
            : this(new FaultyInboxStoreBox())
        {
        }

        private FaultyNetwork(FaultyInboxStoreBox box)
            : base(new NetworkFixtureOptions
            {
                Configure = o => o with
                {
                    ConfigureServices = services =>
                    {
                        var defaults = services.Single(static d => d.ServiceType == typeof(IInboxStore));
                        services.Remove(defaults);
                        services.AddSingleton<IInboxStore>(sp => box.Store = new FaultyInboxStore(
                            (IInboxStore)ActivatorUtilities.CreateInstance(sp, defaults.ImplementationType!)));
                    },
                },
            })
        {
            _box = box;
        }

        private readonly FaultyInboxStoreBox _box;

        public FaultyInboxStore Inboxes => _box.Store ?? throw new InvalidOperationException("The server has not created its inbox store.");
    }

    private sealed class FaultyInboxStoreBox
    {
        public FaultyInboxStore? Store { get; set; }
    }

    /// <summary>
    /// The server's own inbox store, except that the next appends to an app's inboxes can fail: refused (nothing
    /// stored), or stored and then failed (the acknowledgement is lost).
    /// </summary>
    public sealed class FaultyInboxStore(IInboxStore inner) : IInboxStore, IStorageInitializer, IDescribedStore, IAsyncDisposable
    {
        private readonly Dictionary<string, (int Left, bool StoreFirst)> _faults = new(StringComparer.Ordinal);

        public string Description => NetworkDescription(inner);

        public void FailNext(string appId, int count, bool storeFirst)
        {
            lock (_faults)
            {
                _faults[appId] = (count, storeFirst);
            }
        }

        public int FailuresLeft(string appId)
        {
            lock (_faults)
            {
                return _faults.TryGetValue(appId, out var fault) ? fault.Left : 0;
            }
        }

        public async ValueTask<long> AppendAsync(string address, long timestamp, ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default)
        {
            var storeFirst = false;
            var fail = false;
            lock (_faults)
            {
                var appId = address.Split(':')[0];
                if (_faults.TryGetValue(appId, out var fault) && fault.Left > 0)
                {
                    _faults[appId] = (fault.Left - 1, fault.StoreFirst);
                    (fail, storeFirst) = (true, fault.StoreFirst);
                }
            }

            if (fail && !storeFirst)
            {
                throw new IOException("the test refuses this append");
            }

            var offset = await inner.AppendAsync(address, timestamp, frame, cancellationToken);
            return fail ? throw new IOException("the test loses the acknowledgement of this append") : offset;
        }

        public ValueTask<IReadOnlyList<InboxMessage>> ReadAsync(string address, long afterOffset, int maxCount, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(address, afterOffset, maxCount, cancellationToken);

        public ValueTask<long> RemoveThroughAsync(string address, long offset, CancellationToken cancellationToken = default) =>
            inner.RemoveThroughAsync(address, offset, cancellationToken);

        public ValueTask<long> PruneAsync(long timestamp, CancellationToken cancellationToken = default) => inner.PruneAsync(timestamp, cancellationToken);

        public ValueTask<InboxSize?> SizeAsync(string address, CancellationToken cancellationToken = default) => inner.SizeAsync(address, cancellationToken);

        public ValueTask<InboxTotals?> TotalsAsync(CancellationToken cancellationToken = default) => inner.TotalsAsync(cancellationToken);

        public ValueTask InitializeAsync(CancellationToken cancellationToken = default) =>
            inner is IStorageInitializer initializer ? initializer.InitializeAsync(cancellationToken) : ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => inner is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;

        private static string NetworkDescription(IInboxStore store) => store is IDescribedStore described ? described.Description : store.GetType().Name;
    }
}
