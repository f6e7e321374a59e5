using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Self.Testing;

/// <summary>What a <see cref="ServerProcess"/> runs and how it knows the server is up.</summary>
public sealed record ServerProcessOptions
{
    /// <summary>The .NET program (a .dll run with <c>dotnet</c>).</summary>
    public required string Program { get; init; }

    /// <summary>The program's arguments for the chosen loopback port.</summary>
    public required Func<int, IReadOnlyList<string>> Arguments { get; init; }

    /// <summary>Extra environment variables of the process.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// When set, the server is up once it writes this line to its standard output, and its standard input stays open
    /// (<see cref="ServerProcess.StandardInput"/>); otherwise it is up once <c>/healthz</c> answers.
    /// </summary>
    public string? ReadyLine { get; init; }

    /// <summary>How long the server may take to come up.</summary>
    public TimeSpan StartTimeout { get; init; } = Polling.Patience;
}

/// <summary>
/// A network server in a process of its own on a free loopback port, so that a test can kill it with SIGKILL and start
/// it again on the same data folder and port. By default it runs <c>self network serve</c> from the CLI next to the
/// test binaries.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly ServerProcessOptions _options;
    private Process? _process;

    /// <summary><c>self network serve</c> (the <c>self.dll</c> beside the test binaries) on <paramref name="dataDirectory"/>.</summary>
    public ServerProcess(string dataDirectory, string adminToken)
        : this(new ServerProcessOptions
        {
            Program = Path.Combine(AppContext.BaseDirectory, "self.dll"),
            Arguments = port => ["network", "serve", "--urls", $"http://127.0.0.1:{port}", "--data", dataDirectory, "--admin-token", adminToken],
        })
    {
        DataDirectory = dataDirectory;
        AdminToken = adminToken;
    }

    /// <summary>Any server program (see <see cref="ServerProcessOptions"/>).</summary>
    public ServerProcess(ServerProcessOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        Port = FreePort();
    }

    /// <summary>The data folder, when started with the CLI constructor.</summary>
    public string? DataDirectory { get; }

    /// <summary>The operator token, when started with the CLI constructor.</summary>
    public string? AdminToken { get; }

    /// <summary>The loopback port, the same across restarts.</summary>
    public int Port { get; }

    /// <summary>REST base address.</summary>
    public Uri ApiUrl => new($"http://127.0.0.1:{Port}/");

    /// <summary>The messaging websocket address.</summary>
    public Uri MessagingUrl => new($"ws://127.0.0.1:{Port}/v2/messaging");

    /// <summary>The running process's id.</summary>
    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("not started");

    /// <summary>The process's standard input (only with <see cref="ServerProcessOptions.ReadyLine"/>).</summary>
    public StreamWriter StandardInput => _process is { } process && _options.ReadyLine is not null
        ? process.StandardInput
        : throw new InvalidOperationException("not started, or started without a ready line");

    /// <summary>Starts the server and waits until it is up.</summary>
    public async Task StartAsync()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = _options.ReadyLine is not null,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(_options.Program);
        foreach (var argument in _options.Arguments(Port))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in _options.Environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the server process");
        _process = process;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (_options.ReadyLine is { } line && e.Data == line)
            {
                ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        if (_options.ReadyLine is not null)
        {
            var exited = process.WaitForExitAsync();
            if (await Task.WhenAny(ready.Task, exited).WaitAsync(_options.StartTimeout).ConfigureAwait(false) == exited)
            {
                throw new InvalidOperationException($"the server process exited with {process.ExitCode} before it was ready");
            }

            return;
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Polling.WaitUntilAsync(
            async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"the server process exited with {process.ExitCode}");
                }

                try
                {
                    using var response = await http.GetAsync(new Uri(ApiUrl, "healthz")).ConfigureAwait(false);
                    return response.IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
                catch (TaskCanceledException)
                {
                    return false;
                }
            },
            _options.StartTimeout,
            "the server process answers /healthz").ConfigureAwait(false);
    }

    /// <summary>SIGKILL: no shutdown code runs, nothing is flushed by the process.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process?.Dispose();
        _process = null;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await KillAsync().ConfigureAwait(false);

    /// <summary>A loopback port nothing listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
