using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Self.Cli;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Self.EndToEnd.Tests.Operations;

/// <summary>
/// What can be checked here of Dockerfile, compose.yaml and deploy/self-network.service without docker or systemd:
/// the app starts from the Dockerfile's command line, the compose file parses into the scaled-out shape, and every
/// command line they use parses.
/// </summary>
public sealed class DeploymentFilesTests
{
    private static readonly string Root = FindRoot();

    [Fact]
    public async Task Dockerfile_EntrypointAndCmd_StartTheBuiltAppWithReadyzMetricsAndJsonLogs()
    {
        var command = DockerCommandLine();
        var port = FreePort();
        var metricsPort = FreePort();
        while (metricsPort == port)
        {
            metricsPort = FreePort();
        }
        var data = Path.Combine(Path.GetTempPath(), "self-deploy-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);

        // The image's paths and wildcard address, mapped to this machine: /app is the build output, /data a temp folder.
        var args = command.Skip(1).Select(a => a
            .Replace("/app/", AppContext.BaseDirectory, StringComparison.Ordinal)
            .Replace("0.0.0.0:8080", $"127.0.0.1:{port}", StringComparison.Ordinal)
            .Replace("9464", metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("/data", data, StringComparison.Ordinal)).ToList();
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = data };
        args.ForEach(start.ArgumentList.Add);
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var process = Process.Start(start)!;
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { errors.Enqueue(e.Data); } };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            // Generous timeouts: under the whole suite's load the first scrape of a cold process can take seconds.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var ready = await WaitForAsync(http, new Uri($"http://127.0.0.1:{port}/readyz"), process);
            var metrics = await http.GetAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"));

            Assert.Equal(HttpStatusCode.OK, ready);
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
            Assert.Contains("target_info", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(data, "self-network.db")));
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{ex.GetType().Name}: {ex.Message}\n--- server stderr\n{string.Join('\n', errors)}", ex);
        }
        finally
        {
            // SIGTERM, as docker stop sends it: the server stops cleanly and exits 0.
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
        }

        Assert.Equal(0, process.ExitCode);
        var logs = errors.ToArray();
        Assert.NotEmpty(logs);
        foreach (var line in logs)
        {
            using var json = JsonDocument.Parse(line);
            Assert.True(json.RootElement.TryGetProperty("EventId", out _), line);
        }

        Assert.Contains(logs, l => l.Contains("Now listening on", StringComparison.Ordinal));
    }

    [Fact]
    public void Compose_Parses_TwoNetworkInstancesOnPostgreSqlAndAThreeNodeNatsCluster()
    {
        var compose = LoadYaml(Path.Combine(Root, "compose.yaml"));
        var services = Map(compose["services"]);

        Assert.Equal(["nats1", "nats2", "nats3", "network1", "network2", "postgres"], services.Keys.Order(StringComparer.Ordinal));
        var hostPorts = new List<string>();
        foreach (var name in (string[])["network1", "network2"])
        {
            var service = Map(services[name]);
            var environment = Map(service["environment"]);
            Assert.Equal(".", service["build"]);
            Assert.Contains("Host=postgres", (string)environment["SELF_PostgreSql__ConnectionString"], StringComparison.Ordinal);
            Assert.Equal("nats://nats1:4222,nats://nats2:4222,nats://nats3:4222", environment["SELF_Nats__Url"]);
            Assert.True(environment.ContainsKey("SELF_Network__AdminToken"));
            Assert.Equal("service_healthy", Map(Map(service["depends_on"])["postgres"])["condition"]);
            Assert.Contains(":/data", Assert.Single(List(service["volumes"])), StringComparison.Ordinal);
            hostPorts.Add(Assert.Single(List(service["ports"])).Split(':')[0]);
        }

        Assert.Equal(2, hostPorts.Distinct().Count());
        foreach (var name in (string[])["nats1", "nats2", "nats3"])
        {
            var command = List(Map(services[name])["command"]);
            Assert.Contains("--jetstream", command);
            var routes = command[command.IndexOf("--routes") + 1].Split(',');
            Assert.Equal(new[] { "nats1", "nats2", "nats3" }.Where(n => n != name).Select(n => $"nats://{n}:6222"), routes);
            Assert.Equal("self", command[command.IndexOf("--cluster_name") + 1]);
        }
    }

    [Fact]
    public void DockerAndSystemdCommandLines_ParseAsServeCommands()
    {
        var systemd = File.ReadAllLines(Path.Combine(Root, "deploy", "self-network.service"))
            .Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal))["ExecStart=".Length..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);

        foreach (var command in new[] { DockerCommandLine(), systemd })
        {
            Assert.Equal("dotnet", Path.GetFileName(command[0]));
            Assert.EndsWith("/self.dll", command[1], StringComparison.Ordinal);
            var context = new CliContext(Spectre.Console.AnsiConsole.Console, TextWriter.Null, TextWriter.Null, _ => null);
            var parse = CliApp.CreateRootCommand(context).Parse(command[2..]);
            Assert.Empty(parse.Errors);
            Assert.Equal("serve", parse.CommandResult.Command.Name);
        }

        Assert.Contains("--data", systemd);
    }

    [Fact]
    public void Docs_ListEveryNetworkOption()
    {
        var docs = File.ReadAllText(Path.Combine(Root, "docs", "operations.md"));
        static IEnumerable<string> Settable(Type type, string prefix) => type.GetProperties()
            .Where(p => p.SetMethod is { IsPublic: true } && p.PropertyType != typeof(TimeProvider) && !typeof(Delegate).IsAssignableFrom(p.PropertyType))
            .SelectMany(p => p.PropertyType == typeof(Self.Network.RateLimitOptions) ? Settable(p.PropertyType, prefix + p.Name + ":") : [prefix + p.Name]);

        var keys = Settable(typeof(Self.Network.SelfNetworkOptions), "Network:").ToList();

        Assert.Contains("Network:RateLimits:FrameWindow", keys);
        Assert.All(keys, key => Assert.Contains($"`{key}`", docs, StringComparison.Ordinal));
    }

    /// <summary>ENTRYPOINT then CMD of the Dockerfile's last stage (both in exec form).</summary>
    private static string[] DockerCommandLine()
    {
        var lines = File.ReadAllLines(Path.Combine(Root, "Dockerfile"));
        string[] Exec(string instruction) => JsonSerializer.Deserialize<string[]>(lines.Last(l => l.StartsWith(instruction + " ", StringComparison.Ordinal))[(instruction.Length + 1)..])!;
        return [.. Exec("ENTRYPOINT"), .. Exec("CMD")];
    }

    private static Dictionary<string, object> LoadYaml(string path)
    {
        using var reader = new StringReader(File.ReadAllText(path));
        var parser = new MergingParser(new Parser(reader));
        return Map(new DeserializerBuilder().Build().Deserialize<object>(parser)!);
    }

    private static Dictionary<string, object> Map(object node) =>
        ((Dictionary<object, object>)node).ToDictionary(p => (string)p.Key, p => p.Value, StringComparer.Ordinal);

    private static List<string> List(object node) => ((List<object>)node).Select(o => (string)o).ToList();

    private static async Task<HttpStatusCode> WaitForAsync(HttpClient http, Uri url, Process process)
    {
        HttpStatusCode status = default;
        await Polling.WaitUntilAsync(
            async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"the server exited with {process.ExitCode}");
                }

                try
                {
                    status = (await http.GetAsync(url)).StatusCode;
                    return true;
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
            $"{url} answers");
        return status;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Self.slnx")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Self.slnx) was not found above " + AppContext.BaseDirectory);
    }
}
