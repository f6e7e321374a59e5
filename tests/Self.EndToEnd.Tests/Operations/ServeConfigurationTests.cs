using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Self.EndToEnd.Tests.Cli;

namespace Self.EndToEnd.Tests.Operations;

/// <summary>
/// <c>self network serve</c> configured the ASP.NET Core way: appsettings.json in the working folder, then SELF_
/// environment variables, then flags.
/// </summary>
public sealed class ServeConfigurationTests : IDisposable
{
    private readonly CliRunner _cli = new();

    [Theory]
    [InlineData(false, false, "from-file")]
    [InlineData(true, false, "from-env")]
    [InlineData(true, true, "from-flag")]
    public async Task Serve_DataFolderInSeveralLayers_FlagBeatsEnvironmentBeatsAppsettings(bool environment, bool flag, string expected)
    {
        WriteAppsettings("""{ "Network": { "Urls": "http://127.0.0.1:0", "DataDirectory": "from-file" } }""");
        if (environment)
        {
            _cli.Environment["SELF_Network__DataDirectory"] = "from-env";
        }

        string[] args = flag ? ["--data", "from-flag"] : [];
        var (json, stop) = await ServeAsync(args);
        await stop();

        Assert.Equal(Path.Combine(_cli.WorkingDirectory, expected), json.GetProperty("data").GetString());
    }

    [Theory]
    [InlineData("appsettings")]
    [InlineData("environment")]
    public async Task Serve_RequestLimitFromConfiguration_IsEnforced(string source)
    {
        if (source == "appsettings")
        {
            WriteAppsettings("""{ "Network": { "Urls": "http://127.0.0.1:0", "MaxRequestBytes": 2048 } }""");
        }
        else
        {
            _cli.Environment["SELF_Network__Urls"] = "http://127.0.0.1:0";
            _cli.Environment["SELF_NETWORK__MAXREQUESTBYTES"] = "2048";
        }

        var (json, stop) = await ServeAsync();
        try
        {
            using var http = new HttpClient();
            var api = new Uri(json.GetProperty("api_url").GetString()!);
            using var big = new StringContent("{\"history\":[],\"pad\":\"" + new string('x', 4096) + "\"}", System.Text.Encoding.UTF8, "application/json");
            using var small = new StringContent("{\"history\":[]}", System.Text.Encoding.UTF8, "application/json");

            var refused = await http.PostAsync(new Uri(api, "/v1/identities"), big);
            var read = await http.PostAsync(new Uri(api, "/v1/identities"), small);

            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, read.StatusCode);
        }
        finally
        {
            await stop();
        }
    }

    [Fact]
    public async Task Serve_UnknownSettingInAppsettings_ExitsTwoNamingItWithoutStarting()
    {
        WriteAppsettings("""{ "Network": { "Urls": "http://127.0.0.1:0", "RateLimit": { "MessagesPerRecipient": 5 } } }""");

        var result = await _cli.RunAsync("network", "serve");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("RateLimit", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("listening", result.Console, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_BadValueInTheEnvironment_ExitsTwoNamingTheKey()
    {
        _cli.Environment["SELF_Network__InboxRetention"] = "soon";

        var result = await _cli.RunAsync("network", "serve", "--urls", "http://127.0.0.1:0");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("Network:InboxRetention", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_AppsettingsNotJson_ExitsTwoNamingTheFile()
    {
        WriteAppsettings("{ \"Network\": ");

        var result = await _cli.RunAsync("network", "serve", "--urls", "http://127.0.0.1:0");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("appsettings.json", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_ConfigFileMissing_ExitsTwo()
    {
        var result = await _cli.RunAsync("network", "serve", "--config", "nowhere.json");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("nowhere.json", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_CertificateFileMissing_ExitsTwoNamingTheSetting()
    {
        var result = await _cli.RunAsync("network", "serve", "--urls", "https://127.0.0.1:0", "--cert", "missing.pfx", "--cert-password", "secret-password-123");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--cert", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-password-123", result.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_HttpsWithCertFlags_ServesTlsWithThatCertificate()
    {
        var thumbprint = WriteCertificate(Path.Combine(_cli.WorkingDirectory, "tls.pfx"), "pfx-password-for-cli-test");

        var (json, stop) = await ServeAsync("--urls", "https://127.0.0.1:0", "--cert", "tls.pfx", "--cert-password", "pfx-password-for-cli-test");
        try
        {
            using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, c, _, _) => c?.Thumbprint == thumbprint };
            using var http = new HttpClient(handler);
            var api = new Uri(json.GetProperty("api_url").GetString()!);

            var ready = await http.GetAsync(new Uri(api, "/readyz"));

            Assert.Equal("https", api.Scheme);
            Assert.StartsWith("wss://", json.GetProperty("messaging_url").GetString(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }
        finally
        {
            await stop();
        }
    }

    [Fact]
    public async Task Serve_CertificateFromTheEnvironment_ServesTls()
    {
        var thumbprint = WriteCertificate(Path.Combine(_cli.WorkingDirectory, "env.pfx"), "pfx-password-from-env");
        _cli.Environment["SELF_Kestrel__Certificates__Default__Path"] = "env.pfx";
        _cli.Environment["SELF_Kestrel__Certificates__Default__Password"] = "pfx-password-from-env";

        var (json, stop) = await ServeAsync("--urls", "https://127.0.0.1:0");
        try
        {
            using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, c, _, _) => c?.Thumbprint == thumbprint };
            using var http = new HttpClient(handler);

            var ready = await http.GetAsync(new Uri(new Uri(json.GetProperty("api_url").GetString()!), "/readyz"));

            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }
        finally
        {
            await stop();
        }
    }

    public void Dispose() => _cli.Dispose();

    private void WriteAppsettings(string json) => File.WriteAllText(Path.Combine(_cli.WorkingDirectory, "appsettings.json"), json);

    private async Task<(JsonElement Json, Func<Task> Stop)> ServeAsync(params string[] args)
    {
        var stop = new CancellationTokenSource();
        var serve = _cli.Start(stop.Token, ["network", "serve", "--json", .. args]);
        string line;
        try
        {
            line = (await serve.WaitForOutputLinesAsync(1))[0];
        }
        catch
        {
            await stop.CancelAsync();
            stop.Dispose();
            throw;
        }

        using var document = JsonDocument.Parse(line);
        var json = document.RootElement.Clone();
        return (json, async () =>
        {
            await stop.CancelAsync();
            var result = await serve.Completion;
            stop.Dispose();
            Assert.True(result.ExitCode == 0, result.ToString());
        });
    }

    /// <summary>Writes a self-signed certificate for 127.0.0.1 as a password-protected PFX; returns its thumbprint.</summary>
    internal static string WriteCertificate(string path, string password)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        var now = TimeProvider.System.GetUtcNow();
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, password));
        return certificate.Thumbprint;
    }
}
