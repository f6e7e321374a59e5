using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Self.Messaging;
using Self.Protocol.Auth;
using Self.Protocol.Frames;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;
using Self.Protocol.Messages;

namespace Self.EndToEnd.Bench;

/// <summary>
/// Many idle device connections on one server: raw websocket clients that authenticate (spec §6) and then wait. Reports
/// the server's memory per connection and how long one message to each takes to arrive.
/// </summary>
internal static class IdleConnections
{
    public static async Task<IdleSummary> RunAsync(ServerProcess server, int count, Action<string> progress)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var anonymous = new SelfRestClient(http, new SelfRestClientOptions { BaseAddress = server.ApiUrl, MaxRetries = 2 });

        var sender = await RegisterAsync(anonymous);
        var users = new User[count];
        var registered = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var user = await RegisterAsync(anonymous);
            await PermitAsync(anonymous, user, sender.Id);
            users[i] = user;
            var n = Interlocked.Increment(ref registered);
            if (n % 1000 == 0 || n == count)
            {
                progress($"idle users registered (with a permit for the sender): {n}/{count}");
            }
        });

        await Task.Delay(2000);
        var before = server.Memory().Rss;
        var clients = new IdleClient[count];
        var connected = 0;
        // One loopback source address per 20,000 connections (127.0.0.2, .3, …): each has ~28,000 ephemeral ports.
        var sources = Math.Max(1, (count + 19_999) / 20_000);
        var invokers = Enumerable.Range(0, sources).Select(i => SourceBound(IPAddress.Parse($"127.0.0.{i + 2}"))).ToArray();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        {
            clients[i] = await IdleClient.ConnectAsync(server.MessagingUrl, users[i], invokers[i % sources]);
            var n = Interlocked.Increment(ref connected);
            if (n % 1000 == 0 || n == count)
            {
                progress($"idle connections authenticated: {n}/{count}");
            }
        });

        await Task.Delay(3000);
        var after = server.Memory().Rss;
        progress($"server RSS {before / 1048576.0:F0} MiB before, {after / 1048576.0:F0} MiB with {count} connections");

        // One message to each, from one sender connection, pipelined; timed until the last client has it.
        var senderClient = await IdleClient.ConnectAsync(server.MessagingUrl, sender);
        var payload = new byte[64];
        Random.Shared.NextBytes(payload);
        var watch = Stopwatch.StartNew();
        var acks = senderClient.ExpectAcks(count);
        foreach (var user in users)
        {
            await senderClient.SendAsync(new MessageFrame(
                Guid.NewGuid().ToString(), MsgSubType.Unknown, sender.Address, user.Address, Ciphertext: payload));
        }

        var acked = await acks.WaitAsync(TimeSpan.FromMinutes(5));
        var sendDone = watch.Elapsed;
        await Task.WhenAll(clients.Select(c => c.FirstMessage)).WaitAsync(TimeSpan.FromMinutes(5));
        var delivered = watch.Elapsed;
        progress($"{count} messages acknowledged in {sendDone.TotalSeconds:F2} s and delivered to every client in {delivered.TotalSeconds:F2} s");

        await senderClient.DisposeAsync();
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }

        foreach (var invoker in invokers)
        {
            invoker.Dispose();
        }

        return new IdleSummary(count, before, after, (after - before) / (double)count, sendDone, delivered, acked);
    }

    // A handler whose sockets are bound to <paramref name="source"/> before they connect.
    private static HttpMessageInvoker SourceBound(IPAddress source) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, ct) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    });

    internal static async Task<User> RegisterAsync(SelfRestClient anonymous)
    {
        var key = SigningKey.Generate();
        var root = HistoryOperations.CreateIdentity(key, "1", SigningKey.Generate(), DateTimeOffset.UtcNow.AddSeconds(-1));
        var id = await anonymous.RegisterIdentityAsync(root);
        return new User(id, key);
    }

    internal static Task PermitAsync(SelfRestClient anonymous, User user, string source)
    {
        var now = DateTimeOffset.UtcNow;
        var permit = SignedMessage.Sign(
            new AclClaims
            {
                Typ = MessageTypes.AclPermit,
                Iss = user.Id,
                Sub = user.Id,
                Iat = now,
                Exp = now.AddMinutes(5),
                Jti = Guid.NewGuid().ToString(),
                AclSource = source,
                AclExp = now.AddDays(1),
            },
            user.Key);
        return anonymous.ForIdentity(user.Id, user.Key).PermitConnectionAsync(permit);
    }

    internal sealed record User(string Id, SigningKey Key)
    {
        public string Address => Id + ":1";
    }

    /// <summary>A raw client: authenticates, then waits for its first message (or counts ACKs, for the sender).</summary>
    internal sealed class IdleClient : IAsyncDisposable
    {
        private readonly ClientWebSocket _socket = new();
        private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly SemaphoreSlim _sendLock = new(1, 1);
        private TaskCompletionSource<int>? _acks;
        private int _expected;
        private int _acked;
        private int _received;
        private int _receiveTarget = int.MaxValue;
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Task? _loop;

        public Task FirstMessage => _first.Task;

        /// <summary>Completes when <see cref="ExpectMessages"/>' count of messages has arrived.</summary>
        public Task AllMessages => _all.Task;

        /// <summary>How many messages arrived.</summary>
        public int Received => Volatile.Read(ref _received);

        /// <summary>
        /// Connects and authenticates; with <paramref name="invoker"/> (a handler that binds a source address) the
        /// socket comes from that address, so that one machine can open more than one address's ports' worth.
        /// </summary>
        public static async Task<IdleClient> ConnectAsync(Uri uri, User user, HttpMessageInvoker? invoker = null)
        {
            var client = new IdleClient();
            if (invoker is null)
            {
                await client._socket.ConnectAsync(uri, CancellationToken.None);
            }
            else
            {
                await client._socket.ConnectAsync(uri, invoker, CancellationToken.None);
            }

            var id = Guid.NewGuid().ToString();
            await client.SendAsync(new AuthFrame(id, AuthToken.Create(user.Key, user.Id, TimeProvider.System), "1"));
            var answer = await client.ReceiveAsync();
            if (answer is not NotificationFrame { Type: MsgType.Ack } ack || ack.Id != id)
            {
                throw new InvalidOperationException($"authentication refused: {answer}");
            }

            client._loop = client.ReadLoopAsync();
            return client;
        }

        public void ExpectMessages(int count)
        {
            Volatile.Write(ref _receiveTarget, count);
            if (Received >= count)
            {
                _all.TrySetResult();
            }
        }

        /// <summary>Completes when <paramref name="count"/> more ACKs have arrived (call between batches, not during one).</summary>
        public Task<int> ExpectAcks(int count)
        {
            _acks = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _expected, Volatile.Read(ref _acked) + count);
            return _acks.Task;
        }

        public async Task SendAsync(Frame frame)
        {
            var bytes = FrameCodec.Encode(frame);
            await _sendLock.WaitAsync();
            try
            {
                await _socket.SendAsync(bytes, WebSocketMessageType.Binary, true, CancellationToken.None);
            }
            finally
            {
                _sendLock.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await _socket.CloseOutputAsync((WebSocketCloseStatus)3999, "done", CancellationToken.None);
            }
            catch (WebSocketException)
            {
            }

            if (_loop is not null)
            {
                await Task.WhenAny(_loop, Task.Delay(1000));
            }

            _socket.Dispose();
        }

        private async Task ReadLoopAsync()
        {
            try
            {
                while (await ReceiveAsync() is { } frame)
                {
                    switch (frame)
                    {
                        case MessageFrame:
                            _first.TrySetResult();
                            if (Interlocked.Increment(ref _received) >= Volatile.Read(ref _receiveTarget))
                            {
                                _all.TrySetResult();
                            }

                            break;
                        case NotificationFrame { Type: MsgType.Ack }:
                            if (Interlocked.Increment(ref _acked) == Volatile.Read(ref _expected))
                            {
                                _acks?.TrySetResult(_acked);
                            }

                            break;
                        case NotificationFrame { Type: MsgType.Err } err:
                            _acks?.TrySetException(new InvalidOperationException("ERR " + err.Error));
                            break;
                    }
                }
            }
            catch (WebSocketException)
            {
            }
        }

        private async Task<Frame?> ReceiveAsync()
        {
            var buffer = new byte[8192];
            using var message = new MemoryStream();
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }

                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    return FrameCodec.Decode(message.ToArray());
                }
            }
        }
    }
}

/// <summary>What the idle-connection phase measured.</summary>
internal sealed record IdleSummary(int Connections, long RssBefore, long RssAfter, double BytesPerConnection, TimeSpan AllAcknowledged, TimeSpan AllDelivered, int Acknowledged);
