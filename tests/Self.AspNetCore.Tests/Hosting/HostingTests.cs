using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Self.AspNetCore.Tests.Handler;
using Self.AspNetCore.Tests.Infrastructure;
using Self.Sdk;
using Self.Sdk.Authentication;

namespace Self.AspNetCore.Tests.Hosting;

/// <summary>The SelfClient in a host: configuration binding, a start that fails without crashing, the health check, status by id.</summary>
[Collection(NetworkCollection.Name)]
public sealed class HostingTests(NetworkFixture network) : IDisposable
{
    private readonly TempDirectory _storage = new("signin-hosting");

    public void Dispose() => _storage.Dispose();

    [Fact]
    public async Task HealthCheck_ClientConnected_Healthy()
    {
        var app = await network.CreateAppAsync();
        await using var site = await SignInSite.StartAsync(network, app, _storage);
        using var http = site.CreateBrowser();

        var health = await http.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());
        Assert.Equal(SelfClientStatus.Connected, site.SelfClient.Status);
    }

    [Fact]
    public async Task WrongAppSecret_HostRunsLogsOneErrorLineAndReportsUnhealthy()
    {
        var app = await network.CreateAppAsync();
        var other = await network.CreateAppAsync("Other");
        await using var site = await SignInSite.StartAsync(network, app, _storage, new SiteSettings { AppSecret = other.Secret });
        using var visitor = new Visitor(site.CreateBrowser());

        var health = await visitor.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal("Unhealthy", visitor.Page);
        Assert.Equal(SelfClientStatus.Failed, site.SelfClient.Status);
        Assert.IsType<InvalidSecretKeyException>(site.SelfClient.StartFailure);
        // One line from the SDK (the health check's own report of it is the hosting framework's).
        var errors = site.Logs.Where(l => l.Level >= LogLevel.Error && l.Category.StartsWith("Self.", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(errors);
        Assert.Contains("SelfClient did not start (InvalidSecretKeyException)", line.Message, StringComparison.Ordinal);
        Assert.Contains("Check SelfClientOptions.AppSecret", line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(other.Secret, line.Message, StringComparison.Ordinal);

        // The site still serves its pages; sign-in says it is unavailable instead of failing.
        await visitor.OpenProtectedPageAsync();
        var sent = await visitor.SubmitAsync("push", "1112223334");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, sent.StatusCode);
        Assert.Contains("not available right now", visitor.Page, StringComparison.Ordinal);
        var qr = await visitor.SubmitAsync("qr", state: null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, qr.StatusCode);
    }

    [Fact]
    public void ReadOptions_MissingOrMalformedKey_NamesTheKey()
    {
        var missing = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Self:AppId"] = "0123456789abcdef0123456789abcdef",
            ["Self:StorageKey"] = "k",
            ["Self:StorageDirectory"] = _storage.Path,
        }).Build();
        var error = Assert.Throws<ArgumentException>(() => SelfClientServiceCollectionExtensions.ReadOptions(missing.GetSection("Self")));
        Assert.Contains("'Self:AppSecret' is missing", error.Message, StringComparison.Ordinal);

        var malformed = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Self:AppId"] = "0123456789abcdef0123456789abcdef",
            ["Self:AppSecret"] = "kid:seed",
            ["Self:StorageKey"] = "k",
            ["Self:StorageDirectory"] = _storage.Path,
            ["Self:DefaultExpiry"] = "five minutes",
        }).Build();
        error = Assert.Throws<ArgumentException>(() => SelfClientServiceCollectionExtensions.ReadOptions(malformed.GetSection("Self")));
        Assert.Contains("'Self:DefaultExpiry'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadOptions_AllKeys_Bound()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Self:AppId"] = "0123456789abcdef0123456789abcdef",
            ["Self:AppSecret"] = "kid:seed",
            ["Self:StorageKey"] = "key",
            ["Self:StorageDirectory"] = "/var/lib/app",
            ["Self:ApiUrl"] = "http://127.0.0.1:9000",
            ["Self:MessagingUrl"] = "ws://127.0.0.1:9000/v2/messaging",
            ["Self:DeviceId"] = "1",
            ["Self:DefaultExpiry"] = "00:03:00",
            ["Self:MaxRetries"] = "2",
            ["Self:NumberMatching"] = "true",
        }).Build();

        var options = SelfClientServiceCollectionExtensions.ReadOptions(config.GetSection("Self"));

        Assert.Equal("0123456789abcdef0123456789abcdef", options.AppId);
        Assert.Equal("kid:seed", options.AppSecret);
        Assert.Equal("/var/lib/app", options.StorageDirectory);
        Assert.Equal(new Uri("http://127.0.0.1:9000"), options.ApiUrl);
        Assert.Equal(new Uri("ws://127.0.0.1:9000/v2/messaging"), options.MessagingUrl);
        Assert.Equal(TimeSpan.FromMinutes(3), options.DefaultExpiry);
        Assert.Equal(2, options.MaxRetries);
        Assert.True(options.NumberMatching);
    }

    [Fact]
    public async Task AddSelfClientConfiguration_InvalidValue_HostStartsAndHealthSaysWhy()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSelfClient(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AppId"] = "nope" }).Build());
        services.AddHealthChecks().AddSelfClientHealthCheck();
        await using var provider = services.BuildServiceProvider();

        foreach (var hosted in provider.GetServices<Microsoft.Extensions.Hosting.IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        var report = await provider.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>().CheckHealthAsync();
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, report.Status);
        Assert.Contains("'AppSecret' is missing", report.Entries["self"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetStatusAsync_PendingThenOutcomeAndUnknownIsNull()
    {
        var app = await network.CreateAppAsync();
        await using var site = await SignInSite.StartAsync(network, app, _storage);
        await using var device = await network.RegisterDeviceAsync(_storage);
        await device.ConnectAsync(app.AppId);
        var client = site.SelfClient;

        var challenge = await client.Authentication.StartAsync(device.SelfId, new AuthenticationRequestOptions { NumberMatching = true });
        var pending = await client.Authentication.GetStatusAsync(challenge.ConversationId);
        Assert.NotNull(pending);
        Assert.True(pending.IsPending);
        Assert.Equal(device.SelfId, pending.SelfId);
        Assert.Equal(challenge.ExpiresAt, pending.ExpiresAt);

        await (await SignInFlowTests.NextRequestAsync(device)).AcceptAsync(challenge.Number!);
        await client.Authentication.WaitForResponseAsync(challenge.ConversationId).WaitAsync(Visitor.Patience);
        var ended = await client.Authentication.GetStatusAsync(challenge.ConversationId);

        Assert.NotNull(ended);
        Assert.False(ended.IsPending);
        Assert.Equal(AuthenticationStatus.Accepted, ended.Response!.Status);
        Assert.Equal(device.DeviceId, ended.Response.DeviceId);
        Assert.Null(await client.Authentication.GetStatusAsync(Guid.NewGuid().ToString()));
    }
}
