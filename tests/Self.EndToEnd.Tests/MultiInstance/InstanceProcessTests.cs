using System.Diagnostics;
using System.Text.Json;
using Self.EndToEnd.Tests.Cli;
using Self.EndToEnd.Tests.Device;
using Self.EndToEnd.Tests.Infrastructure;

namespace Self.EndToEnd.Tests.MultiInstance;

/// <summary>
/// Three processes of one app (the real <c>self</c> command, one device id each) and a real SelfDevice: the request
/// one process sends is awaited by the two others, and none of the three is superseded.
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class InstanceProcessTests(NetworkFixture network) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly CliRunner _cli = new();
    private readonly TempDirectory _storage = new("instance-processes");

    public void Dispose()
    {
        _cli.Dispose();
        _storage.Dispose();
    }

    [Fact]
    public async Task ThreeProcesses_RequestSentByOne_AnswerReachesAllThree()
    {
        var appId = await _cli.CreateAppAsync(network, "Three Processes");
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "three-processes");
        await device.ConnectAsync(appId);

        await using var sender = CliProcess.Start(_cli.HomePath, "auth", "request", device.SelfId, "--app", appId, "--async", "--json", "--device-id", "proc-a");
        var first = await Task.WhenAny(sender.FirstLineAsync(), sender.WaitForExitAsync(), Task.Delay(Patience));
        Assert.True(first == sender.FirstLineAsync(), "no cid from " + sender + ": " + sender.Output);
        var sent = JsonDocument.Parse(await sender.FirstLineAsync()).RootElement;
        var cid = sent.GetProperty("cid").GetString()!;
        await using var waiterB = CliProcess.Start(_cli.HomePath, "auth", "wait", cid, "--app", appId, "--json", "--device-id", "proc-b");
        await using var waiterC = CliProcess.Start(_cli.HomePath, "auth", "wait", cid, "--app", appId, "--json", "--device-id", "proc-c");

        // The person answers once all three instances are started devices of the app (registered, one-time keys
        // published, connected), so the answer is encrypted to each.
        foreach (var waiter in new[] { waiterB, waiterC })
        {
            var ready = await Task.WhenAny(waiter.FirstLineAsync(), waiter.WaitForExitAsync(), Task.Delay(Patience));
            Assert.True(ready == waiter.FirstLineAsync(), $"{waiter} is not waiting: {waiter.Output}");
        }

        var rest = DeviceKit.RestAs(network, new global::Self.Sdk.Apps.CreatedApp(appId, "Three Processes", _cli.Home.LoadApp(appId).Secret, ""));
        Assert.Equal(["1", "proc-a", "proc-b", "proc-c"], (await rest.GetDevicesAsync(appId)).Order(StringComparer.Ordinal));

        var request = await device.NextRequestAsync().WaitAsync(Patience).ContinueWith(
            t => t.IsCompletedSuccessfully ? t.Result : throw new InvalidOperationException($"no request reached the device; {sender}: {sender.Output}"), TaskScheduler.Default);
        Assert.Equal(cid, request.ConversationId);
        await request.AcceptAsync();

        foreach (var process in new[] { sender, waiterB, waiterC })
        {
            var exited = process.WaitForExitAsync();
            Assert.True(
                await Task.WhenAny(exited, Task.Delay(Patience)) == exited,
                $"{process} did not end: {process.Output}\n---- {sender}: {sender.Output}\n---- {waiterB}: {waiterB.Output}\n---- {waiterC}: {waiterC.Output}");
            var (exitCode, output) = await exited;
            Assert.True(exitCode == 0, $"{process}: exit {exitCode}\n{output}");
            var outcome = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
            Assert.Equal("accepted", outcome.GetProperty("status").GetString());
            Assert.Equal(cid, outcome.GetProperty("cid").GetString());
            Assert.Equal(device.SelfId, outcome.GetProperty("self_id").GetString());
            Assert.DoesNotContain("superseded", output, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task WaitInAnotherProcess_UnknownCid_FailsWithClearMessage()
    {
        var appId = await _cli.CreateAppAsync(network, "Unknown Cid");

        await using var waiter = CliProcess.Start(_cli.HomePath, "auth", "wait", "not-a-cid-of-this-app", "--app", appId, "--device-id", "proc-x");
        var (exitCode, output) = await waiter.WaitForExitAsync().WaitAsync(Patience);

        Assert.Equal(1, exitCode);
        Assert.Contains("not-a-cid-of-this-app", output, StringComparison.Ordinal);
    }

    /// <summary>One <c>self</c> process (the built CLI, <c>dotnet self.dll</c>) with its own SELF_HOME.</summary>
    private sealed class CliProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly System.Text.StringBuilder _output = new();
        private readonly TaskCompletionSource<string> _firstLine = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly string _name;

        private CliProcess(Process process, string name)
        {
            _process = process;
            _name = name;
        }

        public static CliProcess Start(string home, params string[] args)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "self.dll"));
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["SELF_HOME"] = home;
            start.Environment["NO_COLOR"] = "1";
            var process = Process.Start(start) ?? throw new InvalidOperationException("could not start self");
            var running = new CliProcess(process, string.Join(' ', args));
            process.OutputDataReceived += (_, e) => running.Add(e.Data, stdout: true);
            process.ErrorDataReceived += (_, e) => running.Add(e.Data, stdout: false);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return running;
        }

        public Task<string> FirstLineAsync() => _firstLine.Task;

        public async Task<(int ExitCode, string Output)> WaitForExitAsync()
        {
            await _process.WaitForExitAsync();
            lock (_output)
            {
                return (_process.ExitCode, _output.ToString());
            }
        }

        public override string ToString() => "self " + _name;

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
            return ValueTask.CompletedTask;
        }

        private void Add(string? line, bool stdout)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.AppendLine(line);
            }

            if (stdout && line.StartsWith('{'))
            {
                _firstLine.TrySetResult(line);
            }
        }
    }
}
