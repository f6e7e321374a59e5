using System.Globalization;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Self.Network.Distributed.Tests.Infrastructure;
using Self.Network.Nats;

namespace Self.Network.Distributed.Tests.Chaos;

/// <summary>
/// A JetStream cluster of nats-server processes on loopback (client port, route port and store folder of their own
/// each, every node routed to every other), so that a test can kill one node with SIGKILL while the others go on.
/// </summary>
public sealed class NatsCluster : IAsyncDisposable
{
    private readonly string _executable;
    private readonly string _directory;
    private readonly Node[] _nodes;

    private NatsCluster(string executable, string directory, Node[] nodes)
    {
        _executable = executable;
        _directory = directory;
        _nodes = nodes;
    }

    /// <summary>Every node's client URL, comma-separated, the way an instance is configured with them.</summary>
    public string Url => string.Join(',', _nodes.Select(static n => n.Url));

    public IReadOnlyList<string> ServerNames => [.. _nodes.Select(static n => n.Name)];

    /// <summary>Starts <paramref name="size"/> routed nodes and waits until the cluster takes a stream of that many replicas.</summary>
    public static async Task<NatsCluster> StartAsync(int size = 3)
    {
        var executable = Machine.FindExecutable("nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server")
            ?? throw new InvalidOperationException(NatsServer.MissingPackage);
        var directory = Path.Combine(Path.GetTempPath(), "self-nats-cluster-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var nodes = Enumerable.Range(1, size).Select(i => new Node("n" + i.ToString(CultureInfo.InvariantCulture), Machine.FreePort(), Machine.FreePort())).ToArray();
        var routes = string.Join(", ", nodes.Select(static n => $"\"nats-route://127.0.0.1:{n.RoutePort.ToString(CultureInfo.InvariantCulture)}\""));
        foreach (var node in nodes)
        {
            var config = $$"""
                server_name: "{{node.Name}}"
                listen: "127.0.0.1:{{node.ClientPort.ToString(CultureInfo.InvariantCulture)}}"
                max_payload: 2MB
                jetstream {
                  store_dir: "{{Path.Combine(directory, node.Name)}}"
                }
                cluster {
                  name: "self-chaos"
                  listen: "127.0.0.1:{{node.RoutePort.ToString(CultureInfo.InvariantCulture)}}"
                  routes: [{{routes}}]
                }
                """;
            await File.WriteAllTextAsync(Path.Combine(directory, node.Name + ".conf"), config);
        }

        var cluster = new NatsCluster(executable, directory, nodes);
        try
        {
            await Task.WhenAll(nodes.Select(cluster.StartNodeAsync));
            await cluster.WaitForReplicasAsync(size);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The server that leads <paramref name="stream"/> now (it takes every write of the stream).</summary>
    public async Task<string> LeaderOfAsync(SelfNatsOptions options, string stream)
    {
        await using var connection = new SelfNatsConnection(options with { Url = Url, ConnectionName = "chaos-observer" });
        await connection.ConnectAsync();
        var info = await connection.JetStream.GetStreamAsync(stream);
        return info.Info.Cluster?.Leader ?? throw new InvalidOperationException($"stream {stream} has no cluster leader");
    }

    /// <summary>How many replicas of <paramref name="stream"/> are current (the leader and every replica that has caught up).</summary>
    public async Task<int> CurrentReplicasAsync(SelfNatsOptions options, string stream)
    {
        await using var connection = new SelfNatsConnection(options with { Url = Url, ConnectionName = "chaos-observer" });
        await connection.ConnectAsync();
        var info = await connection.JetStream.GetStreamAsync(stream);
        var cluster = info.Info.Cluster;
        return cluster is null ? 0 : (cluster.Leader is null ? 0 : 1) + (cluster.Replicas?.Count(static r => r.Current) ?? 0);
    }

    /// <summary>SIGKILL of one node: no clean shutdown, its connections and its share of the cluster vanish at once.</summary>
    public async Task KillAsync(string name)
    {
        var node = _nodes.Single(n => n.Name == name);
        if (node.Process is { } process)
        {
            await process.KillAsync();
            await process.DisposeAsync();
            node.Process = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            if (node.Process is not null)
            {
                await node.Process.DisposeAsync();
            }
        }

        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private async Task StartNodeAsync(Node node)
    {
        node.Process = ChildProcess.Start(_executable, "-c", Path.Combine(_directory, node.Name + ".conf"));
        await Machine.WaitForListenerAsync(node.ClientPort, node.Process, "nats-server " + node.Name);
    }

    /// <summary>Listening is not enough: the nodes must have elected a meta leader and see each other as peers.</summary>
    private async Task WaitForReplicasAsync(int replicas)
    {
        var options = new SelfNatsOptions { Url = Url, ConnectionName = "chaos-readiness" };
        await using var connection = new SelfNatsConnection(options);
        await connection.ConnectAsync();
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(60);
        var name = "READY_" + Guid.NewGuid().ToString("N")[..8];
        while (true)
        {
            try
            {
                await connection.JetStream.CreateStreamAsync(new StreamConfig(name, ["ready." + name]) { NumReplicas = replicas, Storage = StreamConfigStorage.Memory });
                await connection.JetStream.DeleteStreamAsync(name);
                return;
            }
            catch (NatsJSException) when (TimeProvider.System.GetUtcNow() < deadline)
            {
                await Task.Delay(250);
            }
            catch (TimeoutException) when (TimeProvider.System.GetUtcNow() < deadline)
            {
                await Task.Delay(250);
            }
        }
    }

    private sealed class Node(string name, int clientPort, int routePort)
    {
        public string Name { get; } = name;

        public int ClientPort { get; } = clientPort;

        public int RoutePort { get; } = routePort;

        public string Url => $"nats://127.0.0.1:{ClientPort.ToString(CultureInfo.InvariantCulture)}";

        public ChildProcess? Process { get; set; }
    }
}
