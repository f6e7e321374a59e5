using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Self.Device;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Sdk.Apps;

namespace Self.EndToEnd.Tests.Reliability;

/// <summary>
/// An app killed with SIGKILL while requests are open in every calling style, and sends are in flight, then started
/// again on the same storage: every request it had opened ends exactly once — answered when the user answered it,
/// Expired when nobody did, or unknown when the app died before it was stored (then it never reached the user) — and
/// nothing hangs.
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class AppCrashTests(NetworkFixture network, Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly string[] Styles = ["blocking", "callback", "async"];
    private readonly TempDirectory _storage = new("app-crash");

    public void Dispose() => _storage.Dispose();

    [Fact]
    public async Task AppKilledWithRequestsOpenInEveryStyle_AfterRestartEachEndsExactlyOnce()
    {
        var app = await TestIdentities.CreateAppAsync(network, "Crash App");
        await using var device = await TestDevices.RegisterAsync(network, _storage);
        await device.ConnectAsync(app.AppId);
        var received = new ConcurrentDictionary<string, IncomingRequest>(StringComparer.Ordinal);
        using var stopReading = new CancellationTokenSource();
        var answering = false;
        var reading = Task.Run(async () =>
        {
            await foreach (var request in device.ReadRequestsAsync(stopReading.Token))
            {
                received[request.ConversationId] = request;
                if (Volatile.Read(ref answering))
                {
                    await AnswerAsync(request);
                }
            }
        });

        var environment = Environment(app, device.SelfId);
        var cids = _storage.Sub("cids.txt");
        environment["CRASH_CIDS"] = cids;
        var first = AppProcess.Start("send", environment);
        await using (first)
        {
            // Every named request reached the user's device, and the burst of sends is under way: kill -9.
            var named = Styles.SelectMany(static s => new[] { s + "-answer", s + "-expire" }).ToList();
            await Until(() => named.All(received.ContainsKey) && first.Lines.Contains("opening burst-8"), first);
            await first.KillAsync();
        }

        var opened = first.Lines.Where(static l => l.StartsWith("opening ", StringComparison.Ordinal)).Select(static l => l["opening ".Length..]).ToList();
        Assert.DoesNotContain(first.Lines, static l => l.StartsWith("heard ", StringComparison.Ordinal) || l.StartsWith("returned ", StringComparison.Ordinal) || l.StartsWith("callback ", StringComparison.Ordinal));

        // While the app is down the person answers every request but the *-expire ones; they are never answered.
        Volatile.Write(ref answering, true);
        foreach (var request in received.Values)
        {
            await AnswerAsync(request);
        }

        await File.WriteAllLinesAsync(cids, opened);
        await using var second = AppProcess.Start("resume", environment);
        await Until(() => second.Lines.Contains("done"), second);
        await stopReading.CancelAsync();
        await reading.ContinueWith(static _ => { }, TaskScheduler.Default);

        var sent = first.Lines.Count(static l => l.StartsWith("sent burst-", StringComparison.Ordinal));
        output.WriteLine(
            $"killed with {opened.Count} requests opened ({opened.Count - 6} burst sends, {sent} of them acknowledged before the kill); " +
            $"after the restart: {string.Join(", ", second.Lines.Where(static l => l.StartsWith("waited ", StringComparison.Ordinal)).GroupBy(static l => l.Split(' ')[2]).Select(static g => $"{g.Key} {g.Count()}"))}, " +
            $"unknown (never stored) {second.Lines.Count(static l => l.StartsWith("unknown ", StringComparison.Ordinal))}");
        Assert.DoesNotContain(second.Lines, static l => l.StartsWith("hung ", StringComparison.Ordinal));
        var heard = second.Lines.Where(static l => l.StartsWith("heard ", StringComparison.Ordinal)).Select(static l => l.Split(' ')).ToList();
        var waited = second.Lines.Where(static l => l.StartsWith("waited ", StringComparison.Ordinal)).Select(static l => l.Split(' ')).ToDictionary(static p => p[1], static p => p[2]);
        var unknown = second.Lines.Where(static l => l.StartsWith("unknown ", StringComparison.Ordinal)).Select(static l => l["unknown ".Length..]).ToHashSet();

        // Exactly once: no request is heard twice by the subscribers, and each heard one is the one waited for.
        Assert.Empty(heard.GroupBy(static p => p[1]).Where(static g => g.Count() > 1).Select(static g => g.Key));
        foreach (var cid in opened)
        {
            if (unknown.Contains(cid))
            {
                // The app died before the request was stored, so before it was sent: it never reached the user.
                Assert.StartsWith("burst-", cid, StringComparison.Ordinal);
                Assert.False(received.ContainsKey(cid), $"{cid} reached the device, but the restarted app does not know it");
                continue;
            }

            var outcome = Assert.Single(heard, p => p[1] == cid)[2];
            Assert.Equal(outcome, waited[cid]);
            var expected = cid.EndsWith("-expire", StringComparison.Ordinal) ? "Expired"
                : cid.EndsWith("-answer", StringComparison.Ordinal) || received.ContainsKey(cid) ? "Accepted"
                : "Expired";
            Assert.True(expected == outcome, $"{cid}: {outcome}, expected {expected}\n{string.Join('\n', second.Lines)}");
        }

        foreach (var style in Styles)
        {
            Assert.Equal("Accepted", waited[style + "-answer"]);
            Assert.Equal("Expired", waited[style + "-expire"]);
        }

        Assert.Equal(0, await second.WaitForExitAsync(Patience));
    }

    private static async Task AnswerAsync(IncomingRequest request)
    {
        if (request.ConversationId.EndsWith("-expire", StringComparison.Ordinal) || request.Answer is not null)
        {
            return;
        }

        try
        {
            await request.AcceptAsync();
        }
        catch (Exception ex) when (ex is RequestExpiredException or RequestAlreadyAnsweredException)
        {
            // A burst request the app died before answering has expired, or the loop and the sweep both answered it.
        }
    }

    private Dictionary<string, string> Environment(CreatedApp app, string selfId) => new()
    {
        ["CRASH_API"] = network.ApiUrl.ToString(),
        ["CRASH_MESSAGING"] = network.MessagingUrl.ToString(),
        ["CRASH_APP_ID"] = app.AppId,
        ["CRASH_APP_SECRET"] = app.Secret,
        ["CRASH_STORAGE"] = _storage.Sub("app"),
        ["CRASH_STORAGE_KEY"] = "crash-app-storage-key",
        ["CRASH_USER"] = selfId,
        ["CRASH_ANSWER_EXPIRY"] = "120",
        ["CRASH_EXPIRE_EXPIRY"] = "20",
        ["CRASH_PATIENCE"] = "60",
    };

    private static async Task Until(Func<bool> condition, AppProcess process)
    {
        var deadline = TimeProvider.System.GetUtcNow() + Patience;
        while (!condition())
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the app exited first:\n{string.Join('\n', process.Lines)}\n{process.Errors}");
            }

            if (TimeProvider.System.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"the app did not get there within {Patience}:\n{string.Join('\n', process.Lines)}\n{process.Errors}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>The crash app (tests/Self.Sdk.CrashApp) as a process of its own, with its stdout lines kept.</summary>
    private sealed class AppProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _lines = new();
        private readonly System.Text.StringBuilder _errors = new();

        private AppProcess(Process process) => _process = process;

        public IReadOnlyCollection<string> Lines => _lines;

        public string Errors
        {
            get
            {
                lock (_errors)
                {
                    return _errors.ToString();
                }
            }
        }

        public bool HasExited => _process.HasExited;

        public static AppProcess Start(string mode, IReadOnlyDictionary<string, string> environment)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                ArgumentList = { Path.Combine(AppContext.BaseDirectory, "self-crash-app.dll"), mode },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var (name, value) in environment)
            {
                start.Environment[name] = value;
            }

            var process = new Process { StartInfo = start };
            var running = new AppProcess(process);
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is { } line)
                {
                    running._lines.Enqueue(line);
                }
            };
            process.ErrorDataReceived += (_, e) =>
            {
                lock (running._errors)
                {
                    running._errors.AppendLine(e.Data);
                }
            };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return running;
        }

        /// <summary>SIGKILL: no shutdown code, no flush, no dispose.</summary>
        public async Task KillAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
        }

        public async Task<int> WaitForExitAsync(TimeSpan patience)
        {
            using var timeout = new CancellationTokenSource(patience);
            await _process.WaitForExitAsync(timeout.Token);
            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            await KillAsync();
            _process.Dispose();
        }
    }
}
