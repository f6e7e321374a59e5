using System.Net;
using Self.AspNetCore.Tests.Infrastructure;
using Self.Device;

namespace Self.AspNetCore.Tests.Handler;

/// <summary>The handler's flow through a real sample site, a real network and a real device, without a browser.</summary>
[Collection(NetworkCollection.Name)]
public sealed class SignInFlowTests(NetworkFixture network) : IDisposable
{
    private readonly TempDirectory _storage = new("signin-flow");

    public void Dispose() => _storage.Dispose();

    [Fact]
    public async Task Push_DeviceAccepts_SignedInAsThatSelfId()
    {
        var app = await network.CreateAppAsync("Bookshop");
        await using var site = await SignInSite.StartAsync(network, app, _storage);
        await using var device = await network.RegisterDeviceAsync(_storage);
        await device.ConnectAsync(app.AppId);
        using var visitor = new Visitor(site.CreateBrowser());

        await visitor.OpenProtectedPageAsync();
        Assert.Equal("enter", visitor.Stage);
        var sent = await visitor.SubmitAsync("push", device.SelfId);
        Assert.Equal(HttpStatusCode.SeeOther, sent.StatusCode);
        var waiting = Visitor.Location(sent);
        var request = await NextRequestAsync(device);
        Assert.Equal("Sign in to Bookshop", request.Description);
        Assert.Equal(app.AppId, request.AppId);

        var page = await visitor.GetAsync(waiting);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("waiting", visitor.Stage);
        Assert.Contains(device.SelfId, visitor.Page, StringComparison.Ordinal);

        await request.AcceptAsync();
        var (status, next) = await visitor.WaitForOutcomeAsync(waiting);
        Assert.Equal("accepted", status);
        var callback = await visitor.GetAsync(next!);
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/", Visitor.Location(callback));

        var home = await visitor.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        Assert.Equal($"Signed in as {device.SelfId}", visitor.Page);
    }

    internal static async Task<IncomingRequest> NextRequestAsync(SelfDevice device)
    {
        using var stop = new CancellationTokenSource(Visitor.Patience);
        await foreach (var request in device.ReadRequestsAsync(stop.Token))
        {
            return request;
        }

        throw new InvalidOperationException("The device's request stream ended.");
    }
}
