using System.Diagnostics;
using System.Text.Json;
using Self.Device;
using Self.Oidc.Tests.Infrastructure;

namespace Self.Oidc.Tests.Node;

/// <summary>A relying party in another language: openid-client 6 (npm, installed with npm ci from the lockfile).</summary>
[Collection(OidcCollection.Name)]
public sealed class NodeClientTests(OidcFixture fixture)
{
    [Fact]
    public async Task OpenIdClient_CibaPoll_GetsIdTokenForTheUser()
    {
        var created = await fixture.AddCibaClientAsync();
        await using var device = await fixture.ConnectedUserAsync(ConsentPolicies.From(r => r.BindingMessage == "NODE-42" ? ConsentDecision.Accept : ConsentDecision.Reject));

        var lines = await RunAsync("ciba.mjs", fixture.Issuer.AbsoluteUri, created.ClientId, created.ClientSecret!, device.SelfId, "NODE-42");

        Assert.Equal(new Uri(fixture.Issuer, "connect/ciba").AbsoluteUri, lines[0].GetProperty("backchannel_authentication_endpoint").GetString());
        Assert.Equal("started", lines[1].GetProperty("event").GetString());
        var tokens = lines[2];
        Assert.Equal("tokens", tokens.GetProperty("event").GetString());
        Assert.Equal(device.SelfId, tokens.GetProperty("sub").GetString());
        Assert.Equal(fixture.Issuer.AbsoluteUri, tokens.GetProperty("iss").GetString());
        Assert.Equal(["swk", "user"], tokens.GetProperty("amr").EnumerateArray().Select(a => a.GetString()));
        Assert.True(tokens.GetProperty("has_access_token").GetBoolean());
    }

    /// <summary>openid-client's own private_key_jwt: its assertions carry no <c>typ</c>, and the provider takes them.</summary>
    [Fact]
    public async Task OpenIdClient_CibaPoll_PrivateKeyJwt_UntypedAssertionsAccepted()
    {
        var (key, jwks) = Tokens.NewClientKey();
        var created = await fixture.AddCibaClientAsync(jwks: jwks);
        await using var device = await fixture.ConnectedUserAsync(ConsentPolicies.AlwaysAccept);
        var keyFile = fixture.Data.Sub("node-key-" + Guid.NewGuid().ToString("N") + ".json");
        await File.WriteAllTextAsync(keyFile, JsonSerializer.Serialize(new { kid = key.KeyId, pkcs8 = Convert.ToBase64String(key.Rsa.ExportPkcs8PrivateKey()) }));

        var lines = await RunAsync("ciba.mjs", fixture.Issuer.AbsoluteUri, created.ClientId, "key:" + keyFile, device.SelfId, "NODE-PKJ");

        var assertions = lines.Where(l => l.GetProperty("event").GetString() == "assertion").ToList();
        Assert.NotEmpty(assertions);
        Assert.All(assertions, a => Assert.False(a.GetProperty("header").TryGetProperty("typ", out _)));
        var tokens = lines[^1];
        Assert.Equal("tokens", tokens.GetProperty("event").GetString());
        Assert.Equal(device.SelfId, tokens.GetProperty("sub").GetString());
    }

    [Fact]
    public async Task OpenIdClient_CibaPoll_UserRejects_ErrorAccessDenied()
    {
        var created = await fixture.AddCibaClientAsync();
        await using var device = await fixture.ConnectedUserAsync(ConsentPolicies.AlwaysReject);

        var error = await Assert.ThrowsAsync<NodeFailedException>(() => RunAsync("ciba.mjs", fixture.Issuer.AbsoluteUri, created.ClientId, created.ClientSecret!, device.SelfId, "NODE-0"));
        Assert.Contains("access_denied", error.Message);
    }

    [Fact]
    public async Task OpenIdClient_CodeFlowWithPkce_PublicClient_GetsIdTokenWithItsNonce()
    {
        var redirect = new Uri("http://127.0.0.1:9/node-callback");
        var created = await fixture.AddClientAsync(new Clients.OidcClientRegistration { Name = "Node SPA", RedirectUris = [redirect], Public = true });
        await using var device = await fixture.ConnectedUserAsync();

        // The device types the number the login page printed, as a person would.
        var lines = await RunAsync(
            "code.mjs",
            async line =>
            {
                if (line.GetProperty("event").GetString() == "number")
                {
                    var request = await device.NextRequestAsync();
                    Assert.Equal(fixture.Provider.AppId, request.AppId);
                    await request.AcceptAsync(line.GetProperty("number").GetString()!);
                }
            },
            fixture.Issuer.AbsoluteUri, created.ClientId, redirect.AbsoluteUri, device.SelfId);

        Assert.Equal(["login_submitted", "number", "status", "tokens"], lines.Select(l => l.GetProperty("event").GetString()));
        Assert.Equal("accepted", lines[2].GetProperty("status").GetString());
        var tokens = lines[^1];
        Assert.Equal("tokens", tokens.GetProperty("event").GetString());
        Assert.Equal(device.SelfId, tokens.GetProperty("sub").GetString());
        Assert.False(string.IsNullOrEmpty(tokens.GetProperty("nonce").GetString()));
        Assert.Equal(["swk", "user", "mca"], tokens.GetProperty("amr").EnumerateArray().Select(a => a.GetString()));
    }

    /// <summary>
    /// Runs the script with node. openid-client waits real seconds between polls while the provider's clock is fake,
    /// so the clock ticks along with real time while the script runs (else every poll would be "too fast").
    /// </summary>
    private Task<List<JsonElement>> RunAsync(string script, params string[] args) => RunAsync(script, null, args);

    /// <summary>Runs the script; <paramref name="onLine"/> sees each line of its output as it is printed.</summary>
    private async Task<List<JsonElement>> RunAsync(string script, Func<JsonElement, Task>? onLine, params string[] args)
    {
        var folder = NodeFolder();
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules", "openid-client")), $"run 'npm ci' in {folder} (scripts/test.sh does)");
        var start = new ProcessStartInfo("node") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        using var ticking = new CancellationTokenSource();
        var clock = Task.Run(async () =>
        {
            var last = Stopwatch.GetTimestamp();
            while (!ticking.IsCancellationRequested)
            {
                await Task.Delay(100);
                var now = Stopwatch.GetTimestamp();
                fixture.Time.Advance(Stopwatch.GetElapsedTime(last, now));
                last = now;
            }
        });
        var lines = new List<JsonElement>();
        var output = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } text)
            {
                if (text.Length == 0)
                {
                    continue;
                }

                var line = JsonDocument.Parse(text).RootElement.Clone();
                lines.Add(line);
                if (onLine is not null)
                {
                    await onLine(line);
                }
            }
        });
        var errors = process.StandardError.ReadToEndAsync();
        using var patience = new CancellationTokenSource(Waiting.Patience);
        try
        {
            await process.WaitForExitAsync(patience.Token);
        }
        finally
        {
            await ticking.CancelAsync();
            await clock;
            if (!process.HasExited)
            {
                process.Kill();
            }
        }

        await output;
        if (process.ExitCode != 0)
        {
            throw new NodeFailedException(await errors + string.Join('\n', lines));
        }

        return lines;
    }

    private static string NodeFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Self.Oidc.Tests", "node");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/Self.Oidc.Tests/node not found above " + AppContext.BaseDirectory);
    }
}

public sealed class NodeFailedException(string message) : Exception(message);
