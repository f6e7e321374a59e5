using System.Collections.Concurrent;
using System.Globalization;
using Self.Device;
using Self.Network.Distributed.Tests.Infrastructure;
using Self.Network.Nats;
using Self.Network.PostgreSql;
using Self.Protocol;
using Self.Sdk;
using Self.Sdk.Apps;
using Self.Sdk.Authentication;
using Xunit.Abstractions;

namespace Self.Network.Distributed.Tests.Chaos;

/// <summary>
/// Chaos on a scaled-out network: a 3-node NATS JetStream cluster (inbox stream with 3 replicas), two
/// <c>self network serve</c> processes on one PostgreSQL behind a TCP balancer, real apps (SelfClient) and real user
/// devices (SelfDevice, accepting every request). Mid-load the stream's leader node and one instance are killed with
/// SIGKILL. Every request must end exactly once at the app's handlers; every request the network acknowledged must be
/// answered (none lost, none expired); the only other outcome allowed is a clear error for a send the network did not
/// acknowledge.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class ChaosTests(ServicesFixture services, ITestOutputHelper output) : IAsyncLifetime
{
    private const string AdminToken = "chaos-operator-token-shared-by-every-instance";
    private const int Apps = 2;
    private const int Users = 4;

    // The shape of the run: steady load, the stream leader's node killed, then an instance killed, load on after both.
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(400);
    private static readonly TimeSpan KillNatsAt = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan KillInstanceAt = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan LoadFor = TimeSpan.FromSeconds(32);
    private static readonly TimeSpan Expiry = TimeSpan.FromSeconds(45);

    private readonly SelfPostgreSqlOptions _registry = services.NewPostgreSql();
    private readonly string _storage = Path.Combine(Path.GetTempPath(), "self-chaos-" + Guid.NewGuid().ToString("N"));
    private NatsCluster? _nats;
    private ServeProcess? _a;
    private ServeProcess? _b;
    private TcpBalancer? _balancer;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_storage);
        _nats = await NatsCluster.StartAsync(3);
        var environment = new Dictionary<string, string>
        {
            ["SELF_ADMIN_TOKEN"] = AdminToken,
            ["SELF_PostgreSql__ConnectionString"] = _registry.ConnectionString,
            ["SELF_PostgreSql__Schema"] = _registry.Schema,
            ["SELF_Nats__Url"] = _nats.Url,
            ["SELF_Nats__Replicas"] = "3",
            ["SELF_Network__RateLimits__MessagesPerRecipient"] = "100000",
            ["SELF_Network__RateLimits__IdentitiesPerClient"] = "100000",

            // Their warnings (stream calls retried, appends that failed) are printed when the test fails.
            ["SELF_Logging__LogLevel__Default"] = "Warning",
        };

        // One after the other: the first creates the schema and the stream, the second finds them.
        _a = await ServeProcess.StartAsync("instance A", environment);
        _b = await ServeProcess.StartAsync("instance B", environment);
        _balancer = new TcpBalancer(_a.Port, _b.Port);
    }

    public async Task DisposeAsync()
    {
        if (_balancer is not null)
        {
            await _balancer.DisposeAsync();
        }

        foreach (var instance in new[] { _a, _b })
        {
            if (instance is not null)
            {
                await instance.DisposeAsync();
            }
        }

        if (_nats is not null)
        {
            await _nats.DisposeAsync();
        }

        await services.DropSchemaAsync(_registry.Schema);
        if (Directory.Exists(_storage))
        {
            Directory.Delete(_storage, recursive: true);
        }
    }

    [Fact]
    public async Task NatsNodeAndInstanceKilledMidLoad_EveryRequestEndsOnce_NoAcknowledgedRequestLost()
    {
        var balancer = _balancer!;
        var devices = new List<SelfDevice>();
        var clients = new List<SelfClient>();
        var ledger = new Ledger();
        var logs = new LogRecorder();
        try
        {
            var apps = new List<CreatedApp>();
            for (var i = 0; i < Apps; i++)
            {
                apps.Add(await SelfApps.CreateAsync(balancer.ApiUrl, AdminToken, "Chaos App " + i.ToString(CultureInfo.InvariantCulture)));
            }

            for (var i = 0; i < Users; i++)
            {
                var device = await SelfDevice.RegisterAsync(new SelfDeviceOptions
                {
                    ServerUrl = balancer.ApiUrl,
                    MessagingUrl = balancer.MessagingUrl,
                    StorageDirectory = Path.Combine(_storage, "user-" + i.ToString(CultureInfo.InvariantCulture)),
                    StorageKey = "chaos-user-storage-key",
                    ConsentPolicy = ConsentPolicies.AlwaysAccept,
                    LoggerFactory = logs,
                });
                devices.Add(device);
                foreach (var app in apps)
                {
                    await device.ConnectAsync(app.AppId);
                }
            }

            foreach (var app in apps)
            {
                var client = new SelfClient(new SelfClientOptions
                {
                    AppId = app.AppId,
                    AppSecret = app.Secret,
                    StorageKey = "chaos-app-storage-key",
                    StorageDirectory = Path.Combine(_storage, "app-" + app.AppId),
                    ApiUrl = balancer.ApiUrl,
                    MessagingUrl = balancer.MessagingUrl,
                    LoggerFactory = logs,
                });
                await client.StartAsync();
                client.Authentication.Subscribe(ledger.Heard);
                clients.Add(client);
            }

            Assert.True(balancer.ConnectionsTo(_a!.Port) > 0 && balancer.ConnectionsTo(_b!.Port) > 0, "the balancer did not use both instances");

            // Steady load from every app, in every calling style, while the chaos happens.
            var clock = TimeProvider.System;
            var start = clock.GetTimestamp();
            var chaos = ChaosAsync(start);
            var load = await Task.WhenAll(clients.Select((client, i) => LoadAsync(client, i, devices, ledger, start)));
            var calls = load.SelectMany(static l => l).ToList();
            var (leader, instanceKilledAfter) = await chaos;

            // Every call returns (none hangs) and every request ends, within the requests' expiry.
            var all = Task.WhenAll(calls);
            var patience = Expiry + TimeSpan.FromSeconds(30);
            Assert.True(await Task.WhenAny(all, Task.Delay(patience)) == all, $"{calls.Count(static c => !c.IsCompleted)} calls did not return within {patience}");
            await ledger.WaitForAsync(calls.Count, patience);

            var outcomes = ledger.Outcomes;
            var byStatus = outcomes.Values.GroupBy(static o => o.Response.Status).ToDictionary(static g => g.Key, static g => g.Count());
            output.WriteLine(
                $"{calls.Count} requests from {Apps} apps to {Users} users; killed NATS node {leader} (the stream's leader) at {KillNatsAt.TotalSeconds} s " +
                $"and {_b} at {instanceKilledAfter.TotalSeconds:F1} s; outcomes: {string.Join(", ", byStatus.Select(static s => $"{s.Key} {s.Value}"))}");
            foreach (var failed in outcomes.Values.Where(static o => o.Response.Status != AuthenticationStatus.Accepted).Take(10))
            {
                output.WriteLine($"  {failed.Response.Status} {failed.Response.ConversationId}: {failed.Response.Reason}");
            }

            output.WriteLine("not answered, sent at (s): " + string.Join(' ', calls.Select(static c => c.Result)
                .Where(c => c.ConversationId is not { } id || !(outcomes.TryGetValue(id, out var o) && o.Response.Accepted))
                .Select(static c => c.SentAfter.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture))));

            // Exactly once: one outcome per request at the subscribers, no cid heard twice.
            Assert.Equal(calls.Count, outcomes.Count);
            Assert.Empty(ledger.HeardTwice);
            foreach (var call in calls.Select(static c => c.Result))
            {
                if (call.ConversationId is { } cid)
                {
                    Assert.True(outcomes.ContainsKey(cid), $"{call.Style} request {cid} never ended at the subscribers");
                    if (call.Response is { } returned)
                    {
                        Assert.Equal(outcomes[cid].Response, returned);
                    }
                }

                if (call.Style == Style.Callback && call.ConversationId is { } callbackCid)
                {
                    Assert.Equal(1, ledger.CallbacksOf(callbackCid));
                }
            }

            // None lost: nothing the network acknowledged expired unanswered; a refused send says why.
            Assert.DoesNotContain(outcomes.Values, static o => o.Response.Status == AuthenticationStatus.Expired);
            Assert.All(outcomes.Values, static o => Assert.True(
                o.Response.Status == AuthenticationStatus.Accepted || (o.Response.Status == AuthenticationStatus.Errored && !string.IsNullOrWhiteSpace(o.Response.Reason)),
                $"{o.Response.ConversationId}: {o.Response.Status} {o.Response.Reason}"));

            // The load went through the chaos: requests sent after both kills were answered too.
            Assert.Contains(calls.Select(static c => c.Result), c => c.SentAfter > instanceKilledAfter && c.ConversationId is { } cid && outcomes.TryGetValue(cid, out var o) && o.Response.Accepted);
            Assert.True(_b!.HasExited);
        }
        catch
        {
            WriteWarnings(logs);
            throw;
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }

            foreach (var device in devices)
            {
                await device.DisposeAsync();
            }
        }
    }

    /// <summary>What went wrong on the way, for a failed run: the warnings of the apps, the devices and both instances.</summary>
    private void WriteWarnings(LogRecorder logs)
    {
        const int Most = 40;
        output.WriteLine("warnings of the apps and devices:");
        foreach (var entry in logs.Entries.Where(static e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).Take(Most))
        {
            output.WriteLine($"  {entry.Level} {entry.Category}[{entry.EventId.Id}]: {entry.Message}");
        }

        foreach (var instance in new[] { _a, _b })
        {
            output.WriteLine($"log of {instance}:");
            foreach (var line in (instance?.Output ?? "").Split('\n').Where(static l => l.Contains("warn", StringComparison.Ordinal) || l.Contains("fail", StringComparison.Ordinal) || l.StartsWith(' ')).Take(Most * 2))
            {
                output.WriteLine("  " + line.TrimEnd());
            }
        }
    }

    private async Task<(string Leader, TimeSpan InstanceKilledAfter)> ChaosAsync(long start)
    {
        var options = new SelfNatsOptions { Url = _nats!.Url };
        await WaitUntilAsync(start, KillNatsAt);
        var leader = await _nats.LeaderOfAsync(options, options.StreamName);
        await _nats.KillAsync(leader);
        await WaitUntilAsync(start, KillInstanceAt);
        await _b!.KillAsync();
        return (leader, TimeProvider.System.GetElapsedTime(start));
    }

    private static async Task<List<Task<Call>>> LoadAsync(SelfClient client, int app, IReadOnlyList<SelfDevice> devices, Ledger ledger, long start)
    {
        var calls = new List<Task<Call>>();
        for (var n = 0; TimeProvider.System.GetElapsedTime(start) < LoadFor; n++)
        {
            var style = (Style)((n + app) % 3);
            var selfId = devices[(n + app) % devices.Count].SelfId;
            calls.Add(Task.Run(() => CallAsync(client, style, selfId, ledger, TimeProvider.System.GetElapsedTime(start))));
            await Task.Delay(Interval);
        }

        return calls;
    }

    private static async Task<Call> CallAsync(SelfClient client, Style style, string selfId, Ledger ledger, TimeSpan sentAfter)
    {
        var options = new AuthenticationRequestOptions { Expiry = Expiry, Description = "Chaos sign-in" };
        try
        {
            switch (style)
            {
                case Style.Blocking:
                    var response = await client.Authentication.RequestAsync(selfId, options);
                    return new Call(style, sentAfter, response.ConversationId, response, null);
                case Style.Callback:
                    var cid = await client.Authentication.RequestAsync(selfId, ledger.CalledBack, options);
                    return new Call(style, sentAfter, cid, null, null);
                default:
                    return new Call(style, sentAfter, await client.Authentication.SendAsync(selfId, options), null, null);
            }
        }
        catch (SelfException ex)
        {
            // A blocking send the network refused or never acknowledged: the caller hears why, the subscribers hear Errored.
            return new Call(style, sentAfter, null, null, ex);
        }
    }

    private static async Task WaitUntilAsync(long start, TimeSpan at)
    {
        var left = at - TimeProvider.System.GetElapsedTime(start);
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left);
        }
    }

    private enum Style
    {
        Asynchronous,
        Callback,
        Blocking,
    }

    private sealed record Call(Style Style, TimeSpan SentAfter, string? ConversationId, AuthenticationResponse? Response, Exception? Failure);

    private sealed record Outcome(AuthenticationResponse Response);

    /// <summary>What the apps' handlers heard, per conversation id.</summary>
    private sealed class Ledger
    {
        private readonly ConcurrentDictionary<string, Outcome> _outcomes = new(StringComparer.Ordinal);
        private readonly ConcurrentBag<string> _heardTwice = [];
        private readonly ConcurrentDictionary<string, int> _callbacks = new(StringComparer.Ordinal);
        private readonly SemaphoreSlim _heard = new(0);

        public IReadOnlyDictionary<string, Outcome> Outcomes => _outcomes;

        public IReadOnlyCollection<string> HeardTwice => _heardTwice;

        public void Heard(AuthenticationResponse response)
        {
            if (!_outcomes.TryAdd(response.ConversationId, new Outcome(response)))
            {
                _heardTwice.Add(response.ConversationId);
            }

            _heard.Release();
        }

        public void CalledBack(AuthenticationResponse response) =>
            _callbacks.AddOrUpdate(response.ConversationId, 1, static (_, n) => n + 1);

        public int CallbacksOf(string cid) => _callbacks.GetValueOrDefault(cid);

        /// <summary>Waits until <paramref name="count"/> outcomes were heard (or the patience is spent; the asserts then say what is missing).</summary>
        public async Task WaitForAsync(int count, TimeSpan patience)
        {
            using var timeout = new CancellationTokenSource(patience);
            try
            {
                for (var i = 0; i < count; i++)
                {
                    await _heard.WaitAsync(timeout.Token);
                }
            }
            catch (OperationCanceledException)
            {
                // Reported by the asserts.
            }
        }
    }
}
