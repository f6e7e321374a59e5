using System.Diagnostics;
using Self.Messaging;
using Self.Protocol.Frames;

namespace Self.EndToEnd.Bench;

/// <summary>
/// A server restart with many messages queued for offline inboxes: raw frames (opaque 600-byte payloads, the size of a
/// request envelope) from one sender to N identities that permitted it; the server stops; a new server process starts
/// on the same data; how long until it serves, and how fast the first device then drains its inbox (a raw client that
/// counts frames: the server's delivery speed, not a device's processing).
/// </summary>
internal static class QueuedRestart
{
    public static async Task<RestartSummary> RunAsync(string data, int queued, int inboxes, Action<string> progress)
    {
        var users = new IdleConnections.User[inboxes];
        IdleConnections.User sender;
        await using (var server = await ServerProcess.StartAsync(data))
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            var anonymous = new SelfRestClient(http, new SelfRestClientOptions { BaseAddress = server.ApiUrl, MaxRetries = 2 });
            sender = await IdleConnections.RegisterAsync(anonymous);
            var registered = 0;
            await Parallel.ForEachAsync(Enumerable.Range(0, inboxes), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            {
                var user = await IdleConnections.RegisterAsync(anonymous);
                await IdleConnections.PermitAsync(anonymous, user, sender.Id);
                users[i] = user;
                var n = Interlocked.Increment(ref registered);
                if (n % 1000 == 0 || n == inboxes)
                {
                    progress($"restart: inboxes registered: {n}/{inboxes}");
                }
            });

            var payload = new byte[600];
            Random.Shared.NextBytes(payload);
            await using var senderClient = await IdleConnections.IdleClient.ConnectAsync(server.MessagingUrl, sender);
            var watch = Stopwatch.StartNew();
            // In slices, so that the number of frames in flight stays bounded.
            const int Slice = 10_000;
            for (var done = 0; done < queued; done += Slice)
            {
                var count = Math.Min(Slice, queued - done);
                var acks = senderClient.ExpectAcks(count);
                for (var i = 0; i < count; i++)
                {
                    var user = users[(done + i) % inboxes];
                    await senderClient.SendAsync(new MessageFrame(Guid.NewGuid().ToString(), MsgSubType.Unknown, sender.Address, user.Address, Ciphertext: payload));
                }

                await acks.WaitAsync(TimeSpan.FromMinutes(10));
                if ((done / Slice) % 10 == 9 || done + count == queued)
                {
                    progress($"restart: {done + count:N0}/{queued:N0} messages stored ({(done + count) / watch.Elapsed.TotalSeconds:F0}/s)");
                }
            }
        }

        var started = Stopwatch.StartNew();
        await using var restarted = await ServerProcess.StartAsync(data);
        var serving = started.Elapsed;
        progress($"restart: serving again after {serving.TotalSeconds:F2} s (process start to listening)");

        var first = users[0];
        var expected = queued / inboxes + (queued % inboxes > 0 ? 1 : 0);
        var drain = Stopwatch.StartNew();
        await using var device = await IdleConnections.IdleClient.ConnectAsync(restarted.MessagingUrl, first);
        device.ExpectMessages(expected);
        await device.AllMessages.WaitAsync(TimeSpan.FromMinutes(5));
        var drained = drain.Elapsed;
        return new RestartSummary(queued, inboxes, serving, device.Received, drained, device.Received / drained.TotalSeconds);
    }
}

/// <summary>What the restart phase measured.</summary>
internal sealed record RestartSummary(int Queued, int Inboxes, TimeSpan ServingAgain, int Drained, TimeSpan DrainTime, double DrainPerSecond);
