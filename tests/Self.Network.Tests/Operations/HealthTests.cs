using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Self.Network.Storage;
using Self.Network.Tests.Infrastructure;

namespace Self.Network.Tests.Operations;

/// <summary>/healthz (live) and /readyz (ready: the stores answer), through ASP.NET Core health checks.</summary>
public sealed class HealthTests
{
    [Fact]
    public async Task Readyz_StoresAnswer_Returns200ListingEachCheck()
    {
        await using var server = await NetworkFixture.StartAsync(TempDirectory.Create(), TimeProvider.System);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        var ready = await http.CallAsync(HttpMethod.Get, "/readyz");
        var live = await http.CallAsync(HttpMethod.Get, "/healthz");

        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Equal("ok", ready.Json.GetProperty("status").GetString());
        Assert.Equal("ok", ready.Json.GetProperty("checks").GetProperty("registry").GetString());
        Assert.Equal("ok", ready.Json.GetProperty("checks").GetProperty("inboxes").GetString());
        Assert.Equal(HttpStatusCode.OK, live.Status);
        Assert.Equal("ok", live.Json.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Readyz_InboxStoreFails_Returns503NamingTheCheckButStaysLive()
    {
        await using var server = await NetworkFixture.StartAsync(TempDirectory.Create(), TimeProvider.System, configure: o => o with
        {
            ConfigureServices = s => s.Replace(ServiceDescriptor.Singleton<IInboxStore>(new UnreachableInboxStore())),
        });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        var ready = await http.CallAsync(HttpMethod.Get, "/readyz");
        var live = await http.CallAsync(HttpMethod.Get, "/healthz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.Status);
        Assert.Equal("unhealthy", ready.Json.GetProperty("status").GetString());
        Assert.Equal("unhealthy", ready.Json.GetProperty("checks").GetProperty("inboxes").GetString());
        Assert.Equal("ok", ready.Json.GetProperty("checks").GetProperty("registry").GetString());
        Assert.DoesNotContain("connection refused", ready.Body, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, live.Status);
    }

    /// <summary>An inbox store whose backend is down: every call fails as a network client's would.</summary>
    private sealed class UnreachableInboxStore : IInboxStore
    {
        private static System.Net.Sockets.SocketException Down() => new((int)System.Net.Sockets.SocketError.ConnectionRefused);

        public ValueTask<long> AppendAsync(string address, long timestamp, ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default) => throw Down();

        public ValueTask<IReadOnlyList<InboxMessage>> ReadAsync(string address, long afterOffset, int maxCount, CancellationToken cancellationToken = default) => throw Down();

        public ValueTask<long> RemoveThroughAsync(string address, long offset, CancellationToken cancellationToken = default) => throw Down();

        public ValueTask<long> PruneAsync(long timestamp, CancellationToken cancellationToken = default) => throw Down();
    }
}
