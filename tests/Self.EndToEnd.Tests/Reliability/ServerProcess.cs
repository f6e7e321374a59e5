using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Self.EndToEnd.Tests.Reliability;

/// <summary>
/// The network as its own process (<c>self network serve</c>), so that a test can kill it with SIGKILL and start it
/// again on the same data folder and port.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private Process? _process;

    public ServerProcess(string dataDirectory, string adminToken)
    {
        DataDirectory = dataDirectory;
        AdminToken = adminToken;
        Port = FreePort();
    }

    public string DataDirectory { get; }

    public string AdminToken { get; }

    public int Port { get; }

    public Uri ApiUrl => new($"http://127.0.0.1:{Port}/");

    public Uri MessagingUrl => new($"ws://127.0.0.1:{Port}/v2/messaging");

    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("not started");

    /// <summary>Starts the server and waits until /healthz answers.</summary>
    public async Task StartAsync()
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "self.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { cli, "network", "serve", "--urls", $"http://127.0.0.1:{Port}", "--data", DataDirectory, "--admin-token", AdminToken },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start the server process");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var attempt = 0; attempt < 300; attempt++)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the server process exited with {_process.ExitCode}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(ApiUrl, "healthz"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the server process did not answer /healthz within 30 s");
    }

    /// <summary>SIGKILL: no shutdown code runs, nothing is flushed by the process.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync() => await KillAsync();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
