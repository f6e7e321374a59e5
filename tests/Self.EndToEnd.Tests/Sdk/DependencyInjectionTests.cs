using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Sdk;

namespace Self.EndToEnd.Tests.Sdk;

[Collection(NetworkCollection.Name)]
public sealed class DependencyInjectionTests(NetworkFixture network) : IDisposable
{
    private readonly TempDirectory _storage = new("sdk-di");

    public void Dispose() => _storage.Dispose();

    [Fact]
    public async Task AddSelfClient_HostStarts_OneStartedClient()
    {
        var app = await TestIdentities.CreateAppAsync(network, "DI App");
        var services = new ServiceCollection();
        services.AddSelfClient(TestIdentities.ClientOptions(network, app, _storage));
        services.AddSelfClient(_ => throw new InvalidOperationException("a second registration must not replace the first"));
        await using var provider = services.BuildServiceProvider();

        foreach (var hosted in provider.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        var client = provider.GetRequiredService<SelfClient>();
        Assert.Single(provider.GetServices<IHostedService>());
        Assert.Equal("DI App", client.AppName);
        Assert.Same(client, provider.GetRequiredService<SelfClient>());
    }

    [Fact]
    public void AddSelfClient_InvalidOptions_FailsWhenResolvedNamingTheOption()
    {
        var services = new ServiceCollection();
        services.AddSelfClient(new SelfClientOptions { AppId = "nope", AppSecret = "x", StorageKey = "k", StorageDirectory = _storage.Path });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<ArgumentException>(() => provider.GetRequiredService<SelfClient>());
        Assert.Equal("AppId", error.ParamName);
    }
}
