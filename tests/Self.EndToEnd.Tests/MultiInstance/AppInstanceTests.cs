using Self.Protocol;
using Microsoft.Extensions.Time.Testing;
using Self.Device;
using Self.EndToEnd.Tests.Device;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Messaging;
using Self.Protocol.KeyHistory;
using Self.Sdk;
using Self.Sdk.Apps;
using Self.Sdk.Authentication;

namespace Self.EndToEnd.Tests.MultiInstance;

/// <summary>
/// Several instances of one app (one app id and secret, one device id each) on one network, with a real SelfDevice:
/// none supersedes another, every answer reaches the instance that waits for it, and a request sent by one instance
/// can be awaited on another (docs/app-devices.md).
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class AppInstanceTests(NetworkFixture network) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _storage = new("app-instances");

    public void Dispose() => _storage.Dispose();

    [Fact]
    public async Task ThreeInstances_EachRequests_NoneIsSupersededAndEachGetsItsOwnAnswer()
    {
        var app = await TestIdentities.CreateAppAsync(network, "Three Instances");
        await using var instances = await Instances.StartAsync(network, app, _storage, "1", "web-2", "web-3");
        await using var device = await TestDevices.RegisterAsync(network, _storage, ConsentPolicies.AlwaysAccept);
        await device.ConnectAsync(app.AppId);

        var responses = await Task.WhenAll(instances.Clients.Select(c => c.Authentication.RequestAsync(device.SelfId).WaitAsync(Patience)));

        Assert.All(responses, r => Assert.Equal(AuthenticationStatus.Accepted, r.Status));
        Assert.Equal(3, responses.Select(r => r.ConversationId).Distinct().Count());
        Assert.Empty(instances.Disconnections);
        var devices = await DeviceKit.RestAs(network, app).GetDevicesAsync(app.AppId);
        Assert.Equal(["1", "web-2", "web-3"], devices.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task RequestSentOnA_AwaitedOnB_BAndSubscribersOnCSeeTheAnswerOnce()
    {
        var app = await TestIdentities.CreateAppAsync(network, "Awaited Elsewhere");
        await using var instances = await Instances.StartAsync(network, app, _storage, "a", "b", "c");
        var (a, b, c) = (instances.Clients[0], instances.Clients[1], instances.Clients[2]);
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "elsewhere");
        await device.ConnectAsync(app.AppId);
        var seenOnC = new List<AuthenticationResponse>();
        using var subscription = c.Authentication.Subscribe(r =>
        {
            lock (seenOnC)
            {
                seenOnC.Add(r);
            }
        });

        var cid = await a.Authentication.SendAsync(device.SelfId);
        // B waits before the person answers, so B must adopt a request it never sent.
        var onB = b.Authentication.WaitForResponseAsync(cid);
        var onA = a.Authentication.WaitForResponseAsync(cid);
        await (await device.NextRequestAsync()).AcceptAsync();

        var fromB = await onB.WaitAsync(Patience);
        var fromA = await onA.WaitAsync(Patience);
        Assert.Equal(AuthenticationStatus.Accepted, fromB.Status);
        Assert.Equal(device.SelfId, fromB.SelfId);
        Assert.Equal(fromA, fromB);
        await Polling.WaitUntilAsync(() => { lock (seenOnC) { return seenOnC.Count > 0; } }, "C has reported the first outcome");
        // Asking again after the answer gives the outcome at once, on every instance.
        Assert.Equal(fromA, await b.Authentication.WaitForResponseAsync(cid).WaitAsync(Patience));
        Assert.Equal(fromA, await c.Authentication.WaitForResponseAsync(cid).WaitAsync(Patience));

        // After a second request has ended too, C has reported the first one once, not once per copy or instance.
        var second = a.Authentication.RequestAsync(device.SelfId);
        await (await device.NextRequestAsync()).AcceptAsync();
        var secondCid = (await second.WaitAsync(Patience)).ConversationId;
        await Polling.WaitUntilAsync(() => { lock (seenOnC) { return seenOnC.Any(r => r.ConversationId == secondCid); } }, "C has reported the second outcome");
        lock (seenOnC)
        {
            Assert.Single(seenOnC, r => r.ConversationId == cid);
            Assert.Equal(AuthenticationStatus.Accepted, seenOnC.Single(r => r.ConversationId == cid).Status);
        }

        Assert.Empty(instances.Disconnections);
    }

    [Fact]
    public async Task NumberMatching_StartedOnA_AwaitedOnB_CountsOnlyWithTheNumber()
    {
        var app = await TestIdentities.CreateAppAsync(network, "Number Elsewhere");
        await using var instances = await Instances.StartAsync(network, app, _storage, "a", "b");
        var (a, b) = (instances.Clients[0], instances.Clients[1]);
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "number-elsewhere");
        await device.ConnectAsync(app.AppId);
        var withNumber = new AuthenticationRequestOptions { NumberMatching = true };

        var challenge = await a.Authentication.StartAsync(device.SelfId, withNumber);
        var onB = b.Authentication.WaitForResponseAsync(challenge.ConversationId);
        var request = await device.NextRequestAsync();
        Assert.True(request.RequiresNumber);
        await request.AcceptAsync(challenge.Number!);

        var response = await onB.WaitAsync(Patience);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
        Assert.Equal(device.SelfId, response.SelfId);
    }

    [Fact]
    public async Task RequestSentOnA_NobodyAnswers_EndsExpiredOnBToo()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var app = await TestIdentities.CreateAppAsync(network, "Expires Elsewhere");
        await using var instances = await Instances.StartAsync(network, app, _storage, time, "a", "b");
        var (a, b) = (instances.Clients[0], instances.Clients[1]);
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "silent");
        await device.ConnectAsync(app.AppId);

        var cid = await a.Authentication.SendAsync(device.SelfId, new AuthenticationRequestOptions { Expiry = TimeSpan.FromMinutes(2) });
        var waiting = b.Authentication.WaitForResponseAsync(cid);
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromMinutes(3));
        var onB = await waiting.WaitAsync(Patience);

        Assert.Equal(AuthenticationStatus.Expired, onB.Status);
        Assert.Equal(device.SelfId, onB.SelfId);
    }

    [Fact]
    public async Task WaitForResponse_CidOfAnotherAppOrAltered_IsRefused()
    {
        var app = await TestIdentities.CreateAppAsync(network, "Own Cids");
        var other = await TestIdentities.CreateAppAsync(network, "Other Cids");
        await using var instances = await Instances.StartAsync(network, app, _storage, "a", "b");
        await using var foreign = await Instances.StartAsync(network, other, _storage, "x");
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "foreign");
        await device.ConnectAsync(other.AppId);
        await device.ConnectAsync(app.AppId);

        var foreignCid = await foreign.Clients[0].Authentication.SendAsync(device.SelfId);
        var ownCid = await instances.Clients[0].Authentication.SendAsync(device.SelfId);
        var altered = ownCid[..^2] + (ownCid[^2] == 'A' ? "B" : "A") + ownCid[^1];
        var chosen = await instances.Clients[0].Authentication.SendAsync(
            device.SelfId, new AuthenticationRequestOptions { ConversationId = "chosen-" + Guid.NewGuid() });

        await Assert.ThrowsAsync<ArgumentException>(() => instances.Clients[1].Authentication.WaitForResponseAsync(foreignCid));
        await Assert.ThrowsAsync<ArgumentException>(() => instances.Clients[1].Authentication.WaitForResponseAsync(altered));
        // A cid the caller chose carries no signature: only the instance that sent it can match its answer.
        await Assert.ThrowsAsync<ArgumentException>(() => instances.Clients[1].Authentication.WaitForResponseAsync(chosen));
        // The unaltered signed cid of a sibling instance is accepted (and waits).
        Assert.False(instances.Clients[1].Authentication.WaitForResponseAsync(ownCid).IsCompleted);
    }

    [Fact]
    public async Task InstanceRestart_ReusesItsKey_HistoryDoesNotGrow()
    {
        var app = await TestIdentities.CreateAppAsync(network, "Restarting Instance");
        var options = Instances.Options(network, app, _storage, "worker-7");
        await using (var first = new SelfClient(options))
        {
            await first.StartAsync();
        }

        var rest = DeviceKit.RestAs(network, app);
        var before = (await rest.GetHistoryAsync(app.AppId)).Count;
        await using (var second = new SelfClient(options))
        {
            await second.StartAsync();
        }

        Assert.Equal(2, before);
        Assert.Equal(before, (await rest.GetHistoryAsync(app.AppId)).Count);
        var keyFile = Directory.GetFiles(options.StorageDirectory, "*.key").Single();
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }

        Assert.DoesNotContain(app.Secret.Split(':')[1], File.ReadAllText(keyFile), StringComparison.Ordinal);
        await using var wrongKey = new SelfClient(options with { StorageKey = "not-the-storage-key" });
        await Assert.ThrowsAsync<StorageKeyException>(() => wrongKey.StartAsync());
    }

    [Fact]
    public async Task FourInstances_StartAtOnce_AllRegisterAndTheHistoryStaysValid()
    {
        var app = await TestIdentities.CreateAppAsync(network, "Simultaneous Start");

        await using var instances = await Instances.StartAsync(network, app, _storage, "s1", "s2", "s3", "s4");

        var history = await DeviceKit.RestAs(network, app).GetHistoryAsync(app.AppId);
        var graph = SignatureGraph.Load(history);
        Assert.Equal(["1", "s1", "s2", "s3", "s4"], graph.ActiveDeviceIds.Order(StringComparer.Ordinal));
        Assert.Empty(instances.Disconnections);
    }

    [Fact]
    public async Task InstanceWithWrongAppSecret_IsRefusedAndRegistersNothing()
    {
        var app = await TestIdentities.CreateAppAsync(network, "Wrong Secret");
        var impostor = await TestIdentities.CreateAppAsync(network, "Impostor");
        var options = Instances.Options(network, app, _storage, "intruder") with { AppSecret = impostor.Secret };
        await using var client = new SelfClient(options);

        await Assert.ThrowsAsync<InvalidSecretKeyException>(() => client.StartAsync());

        Assert.Single(await DeviceKit.RestAs(network, app).GetHistoryAsync(app.AppId));
    }

    /// <summary>Started clients of one app, one per device id, each with its own folder (as on its own machine).</summary>
    private sealed class Instances : IAsyncDisposable
    {
        private readonly List<string> _disconnections = [];

        private Instances(IReadOnlyList<SelfClient> clients)
        {
            Clients = clients;
            foreach (var client in clients)
            {
                client.Disconnected += (_, e) =>
                {
                    lock (_disconnections)
                    {
                        _disconnections.Add($"{client.Options.DeviceId}: {e.Reason}");
                    }
                };
            }
        }

        public IReadOnlyList<SelfClient> Clients { get; }

        public IReadOnlyList<string> Disconnections
        {
            get
            {
                lock (_disconnections)
                {
                    return [.. _disconnections];
                }
            }
        }

        public static SelfClientOptions Options(NetworkFixture network, CreatedApp app, TempDirectory storage, string deviceId, TimeProvider? time = null) =>
            TestIdentities.ClientOptions(network, app, storage, time) with
            {
                DeviceId = deviceId,
                StorageDirectory = storage.Sub($"app-{app.AppId}-{deviceId}"),
            };

        public static Task<Instances> StartAsync(NetworkFixture network, CreatedApp app, TempDirectory storage, params string[] deviceIds) =>
            StartAsync(network, app, storage, null, deviceIds);

        public static async Task<Instances> StartAsync(
            NetworkFixture network, CreatedApp app, TempDirectory storage, TimeProvider? time, params string[] deviceIds)
        {
            var clients = deviceIds.Select(id => new SelfClient(Options(network, app, storage, id, time))).ToArray();
            var instances = new Instances(clients);
            await Task.WhenAll(clients.Select(c => c.StartAsync()));
            return instances;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var client in Clients)
            {
                await client.DisposeAsync();
            }
        }
    }
}
