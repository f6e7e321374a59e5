using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Self.Network.Distributed.Tests.Chaos;

/// <summary>
/// A TCP load balancer on loopback in front of the network's instances, as an operator would put them behind one name:
/// each new connection goes to the next instance in turn, skipping one that refuses connections (a killed one). A
/// connection whose instance dies is closed, and the client's reconnect lands on an instance that is alive.
/// </summary>
public sealed class TcpBalancer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int[] _backends;
    private readonly ConcurrentDictionary<int, int> _connections = new();
    private readonly ConcurrentDictionary<Task, byte> _pumps = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _next;

    public TcpBalancer(params int[] backends)
    {
        _backends = backends;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public Uri ApiUrl => new($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/");

    public Uri MessagingUrl => new($"ws://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/v2/messaging");

    /// <summary>How many connections went to the instance on each port.</summary>
    public int ConnectionsTo(int port) => _connections.GetValueOrDefault(port);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        await Task.WhenAll(_pumps.Keys);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptSocketAsync(_stop.Token);
            var pump = ServeAsync(client);
            _pumps.TryAdd(pump, 0);
            _ = pump.ContinueWith(t => _pumps.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            var first = Interlocked.Increment(ref _next);
            Socket? backend = null;
            for (var i = 0; i < _backends.Length && backend is null; i++)
            {
                var port = _backends[(first + i) % _backends.Length];
                var candidate = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await candidate.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), _stop.Token);
                    backend = candidate;
                    _connections.AddOrUpdate(port, 1, static (_, n) => n + 1);
                }
                catch (Exception ex) when (ex is SocketException or OperationCanceledException)
                {
                    candidate.Dispose();
                }
            }

            if (backend is null)
            {
                return;
            }

            using (backend)
            {
                using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                var up = CopyAsync(client, backend, done.Token);
                var down = CopyAsync(backend, client, done.Token);
                await Task.WhenAny(up, down);

                // Either side ended (a close, or the instance died): end the other, as a balancer does.
                await done.CancelAsync();
                await Task.WhenAll(up, down);
            }
        }
    }

    private static async Task CopyAsync(Socket from, Socket to, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (read == 0)
                {
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection is over.
        }
    }
}
