using System.Net;
using System.Security.Claims;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
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
        Assert.True(request.RequiresNumber);
        Assert.Matches("^[0-9]{2}$", visitor.Number);

        await request.AcceptAsync(visitor.Number!);
        var (status, next) = await visitor.WaitForOutcomeAsync(waiting);
        Assert.Equal("accepted", status);
        var callback = await visitor.GetAsync(next!);
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/", Visitor.Location(callback));

        var home = await visitor.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        Assert.Equal($"Signed in as {device.SelfId}", visitor.Page);
    }

    [Fact]
    public async Task Callback_Replayed_RefusedAndNotSignedInAgain()
    {
        var app = await network.CreateAppAsync();
        await using var site = await SignInSite.StartAsync(network, app, _storage);
        await using var device = await ConnectedDeviceAsync(app.AppId);
        var cookies = new CookieContainer();
        using var visitor = new Visitor(site.CreateBrowser(cookies));
        var (waiting, number) = await PushAsync(visitor, device.SelfId);
        await (await NextRequestAsync(device)).AcceptAsync(number);
        var (_, next) = await visitor.WaitForOutcomeAsync(waiting);
        var correlation = cookies.GetAllCookies().Single(c => c.Name.StartsWith(".AspNetCore.Correlation.", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Redirect, (await visitor.GetAsync(next!)).StatusCode);

        // Same browser again: its correlation cookie went with the first use.
        var again = await visitor.GetAsync(next!);
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Equal("error", visitor.Stage);

        // Even with the correlation cookie put back (copied before the first use), the state is spent.
        var copied = new CookieContainer();
        copied.Add(new Cookie(correlation.Name, correlation.Value, correlation.Path, correlation.Domain));
        using var withCookie = new Visitor(site.CreateBrowser(copied));
        var replay = await withCookie.GetAsync(next!);

        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Contains(site.Logs, l => l.Message.Contains("already used", StringComparison.Ordinal));
        Assert.DoesNotContain(replay.Headers.TryGetValues("Set-Cookie", out var set) ? set : [], c => c.StartsWith(".AspNetCore.Cookies=", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Redirect, (await withCookie.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task Callback_FromAnotherBrowser_Refused()
    {
        var app = await network.CreateAppAsync();
        await using var site = await SignInSite.StartAsync(network, app, _storage);
        await using var device = await ConnectedDeviceAsync(app.AppId);
        using var visitor = new Visitor(site.CreateBrowser());
        var (waiting, number) = await PushAsync(visitor, device.SelfId);
        await (await NextRequestAsync(device)).AcceptAsync(number);
        var (_, next) = await visitor.WaitForOutcomeAsync(waiting);

        // Someone who got hold of the URL, in a browser without the correlation cookie of the one that started.
        using var attacker = new Visitor(site.CreateBrowser());
        var stolen = await attacker.GetAsync(next!);

        Assert.Equal(HttpStatusCode.BadRequest, stolen.StatusCode);
        Assert.Equal("error", attacker.Stage);
        Assert.Equal(HttpStatusCode.Redirect, (await attacker.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task Callback_ForgedOrDamagedState_Refused()
    {
        var app = await network.CreateAppAsync();
        await using var site = await SignInSite.StartAsync(network, app, _storage);
        await using var device = await ConnectedDeviceAsync(app.AppId);
        using var visitor = new Visitor(site.CreateBrowser());
        var (waiting, number) = await PushAsync(visitor, device.SelfId);
        await (await NextRequestAsync(device)).RejectAsync();
        var (_, next) = await visitor.WaitForOutcomeAsync(waiting);

        // Flip one character of the protected state: an outcome the site did not issue.
        var at = next!.IndexOf("state=", StringComparison.Ordinal) + 20;
        var forged = next[..at] + (next[at] == 'A' ? 'B' : 'A') + next[(at + 1)..];
        var refused = await visitor.GetAsync(forged);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("error", visitor.Stage);

        var invented = await visitor.GetAsync("/signin-self/callback?state=not-a-state");
        Assert.Equal(HttpStatusCode.BadRequest, invented.StatusCode);
        var noState = await visitor.GetAsync("/signin-self/callback");
        Assert.Equal(HttpStatusCode.BadRequest, noState.StatusCode);
        var page = await visitor.GetAsync("/signin-self?state=not-a-state");
        Assert.Equal(HttpStatusCode.BadRequest, page.StatusCode);
        var status = await visitor.GetAsync("/signin-self/status?state=not-a-state");
        Assert.Equal(HttpStatusCode.BadRequest, status.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await visitor.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task Push_DeviceRejects_BackToLoginSayingSoAndOnRejectedRunsOnce()
    {
        var app = await network.CreateAppAsync();
        var rejected = 0;
        await using var site = await SignInSite.StartAsync(network, app, _storage, new SiteSettings
        {
            Configure = o => o.Events.OnRejected = _ =>
            {
                Interlocked.Increment(ref rejected);
                return Task.CompletedTask;
            },
        });
        await using var device = await ConnectedDeviceAsync(app.AppId);
        using var visitor = new Visitor(site.CreateBrowser());
        var (waiting, number) = await PushAsync(visitor, device.SelfId);

        await (await NextRequestAsync(device)).RejectAsync();
        var (status, next) = await visitor.WaitForOutcomeAsync(waiting);
        Assert.Equal("rejected", status);
        var back = await visitor.GetAsync(next!);

        Assert.Equal(HttpStatusCode.Redirect, back.StatusCode);
        var login = Visitor.Location(back);
        Assert.Contains("outcome=rejected", login, StringComparison.Ordinal);
        await visitor.GetAsync(login);
        Assert.Equal("enter", visitor.Stage);
        Assert.Contains("declined on your device", visitor.Page, StringComparison.Ordinal);
        Assert.Equal(1, rejected);
        Assert.Equal(HttpStatusCode.BadRequest, (await visitor.GetAsync(next!)).StatusCode);
        Assert.Equal(1, rejected);
        Assert.Equal(HttpStatusCode.Redirect, (await visitor.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task Push_NobodyAnswersInTime_ExpiredOnceAndTryAgainOffered()
    {
        var app = await network.CreateAppAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var expired = 0;
        await using var site = await SignInSite.StartAsync(network, app, _storage, new SiteSettings
        {
            Time = time,
            Configure = o =>
            {
                o.Expiry = TimeSpan.FromMinutes(2);
                o.Events.OnExpired = _ =>
                {
                    Interlocked.Increment(ref expired);
                    return Task.CompletedTask;
                };
            },
        });
        await using var device = await ConnectedDeviceAsync(app.AppId);
        using var visitor = new Visitor(site.CreateBrowser());
        var (waiting, number) = await PushAsync(visitor, device.SelfId);
        var request = await NextRequestAsync(device);

        var early = await visitor.GetAsync(waiting.Replace("/signin-self?", "/signin-self/callback?", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Redirect, early.StatusCode);
        await visitor.GetAsync(Visitor.Location(early));
        Assert.Equal("waiting", visitor.Stage);
        time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1));
        var (status, next) = await visitor.WaitForOutcomeAsync(waiting);
        Assert.Equal("expired", status);
        var back = await visitor.GetAsync(next!);

        Assert.Contains("outcome=expired", Visitor.Location(back), StringComparison.Ordinal);
        await visitor.GetAsync(Visitor.Location(back));
        Assert.Contains("expired before it was approved", visitor.Page, StringComparison.Ordinal);
        Assert.Equal(1, expired);
        Assert.Equal(HttpStatusCode.Redirect, (await visitor.GetAsync("/")).StatusCode);
        Assert.Null(request.Answer);
    }

    [Fact]
    public async Task Push_UserNotConnected_ShowsInvitationThenSignsInAfterConnecting()
    {
        var app = await network.CreateAppAsync("Bookshop");
        await using var site = await SignInSite.StartAsync(network, app, _storage);
        await using var device = await network.RegisterDeviceAsync(_storage);
        using var visitor = new Visitor(site.CreateBrowser());
        await visitor.OpenProtectedPageAsync();

        var sent = await visitor.SubmitAsync("push", device.SelfId);
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        Assert.Equal("notconnected", visitor.Stage);
        Assert.Contains("has not connected to Bookshop", visitor.Page, StringComparison.Ordinal);
        var invitation = visitor.Attribute("data-invitation-payload")!;
        Assert.Contains("id=\"invitation-link\" href=\"https://links.joinself.com/", visitor.Page, StringComparison.Ordinal);
        var accepted = await device.AcceptInvitationAsync(invitation);
        Assert.Equal(app.AppId, accepted.AppId);

        var again = await visitor.SubmitAsync("push", device.SelfId);
        Assert.Equal(HttpStatusCode.SeeOther, again.StatusCode);
        var waiting = Visitor.Location(again);
        await visitor.GetAsync(waiting);
        await (await NextRequestAsync(device)).AcceptAsync(visitor.Number!);
        var (status, next) = await visitor.WaitForOutcomeAsync(waiting);
        Assert.Equal("accepted", status);
        await visitor.GetAsync(next!);
        await visitor.GetAsync("/");
        Assert.Equal($"Signed in as {device.SelfId}", visitor.Page);
    }

    [Theory]
    [InlineData("12345", "not a Self ID")]
    [InlineData("abcdefghij", "not a Self ID")]
    [InlineData("98765432101", "No one has the Self ID 98765432101")]
    public async Task Push_BadSelfId_SaysWhatIsWrongAndStaysOnTheForm(string selfId, string expected)
    {
        var app = await network.CreateAppAsync();
        await using var site = await SignInSite.StartAsync(network, app, _storage);
        using var visitor = new Visitor(site.CreateBrowser());
        await visitor.OpenProtectedPageAsync();

        var sent = await visitor.SubmitAsync("push", selfId);

        Assert.Equal(HttpStatusCode.BadRequest, sent.StatusCode);
        Assert.Equal("enter", visitor.Stage);
        Assert.Contains(expected, visitor.Page, StringComparison.Ordinal);
        Assert.Contains("aria-invalid=\"true\"", visitor.Page, StringComparison.Ordinal);
        Assert.Equal(selfId, visitor.Field("selfId"));
    }

    [Fact]
    public async Task Post_WithoutAntiforgeryToken_RefusedAndNothingSent()
    {
        var app = await network.CreateAppAsync();
        await using var site = await SignInSite.StartAsync(network, app, _storage);
        await using var device = await ConnectedDeviceAsync(app.AppId);
        using var visitor = new Visitor(site.CreateBrowser());
        await visitor.OpenProtectedPageAsync();

        var sent = await visitor.SubmitAsync("push", device.SelfId, withAntiforgery: false);

        Assert.Equal(HttpStatusCode.BadRequest, sent.StatusCode);
        Assert.Contains("did not come from this site", visitor.Page, StringComparison.Ordinal);
        Assert.Empty(device.OpenRequests);
        Assert.DoesNotContain(site.Logs, l => l.Message.Contains("sign-in request", StringComparison.Ordinal) && l.Message.Contains(device.SelfId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task QrCode_PhoneScansAndAccepts_SignedInWithClaims()
    {
        var app = await network.CreateAppAsync();
        ClaimsIdentity? issued = null;
        await using var site = await SignInSite.StartAsync(network, app, _storage, new SiteSettings
        {
            Configure = o => o.Events.OnCreatingTicket = context =>
            {
                context.Identity.AddClaim(new Claim("tier", "gold"));
                issued = context.Identity;
                return Task.CompletedTask;
            },
        });
        await using var device = await ConnectedDeviceAsync(app.AppId);
        using var visitor = new Visitor(site.CreateBrowser());
        await visitor.OpenProtectedPageAsync();

        var shown = await visitor.SubmitAsync("qr");
        Assert.Equal(HttpStatusCode.OK, shown.StatusCode);
        Assert.Equal("qrcode", visitor.Stage);
        var payload = visitor.Attribute("data-qr-payload")!;
        var statusUrl = visitor.Attribute("data-self-status")!;
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await device.AnswerQrAsync(payload, accept: true);
        var (status, next) = await visitor.WaitForOutcomeAsync(statusUrl.Replace("/status?", "?", StringComparison.Ordinal));
        Assert.Equal("accepted", status);
        await visitor.GetAsync(next!);
        await visitor.GetAsync("/");

        Assert.Equal($"Signed in as {device.SelfId}", visitor.Page);
        Assert.NotNull(issued);
        Assert.Equal(device.SelfId, issued.FindFirst("sub")?.Value);
        Assert.Equal(device.SelfId, issued.FindFirst(ClaimTypes.NameIdentifier)?.Value);
        Assert.Equal(device.DeviceId, issued.FindFirst(SelfClaimTypes.Device)?.Value);
        Assert.Equal("qr", issued.FindFirst(SelfClaimTypes.Method)?.Value);
        Assert.InRange(long.Parse(issued.FindFirst(SelfClaimTypes.AuthTime)!.Value, System.Globalization.CultureInfo.InvariantCulture), before - 5, before + 120);
        Assert.Equal("gold", issued.FindFirst("tier")?.Value);
        Assert.DoesNotContain(issued.Claims, c => c.Type.StartsWith(".self", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OnAuthenticated_Refuses_NotSignedInAndReasonShown()
    {
        var app = await network.CreateAppAsync();
        await using var site = await SignInSite.StartAsync(network, app, _storage, new SiteSettings
        {
            Configure = o => o.Events.OnAuthenticated = context =>
            {
                context.Refuse($"The account {context.Answer.SelfId} is suspended.");
                return Task.CompletedTask;
            },
        });
        await using var device = await ConnectedDeviceAsync(app.AppId);
        using var visitor = new Visitor(site.CreateBrowser());
        var (waiting, number) = await PushAsync(visitor, device.SelfId);
        await (await NextRequestAsync(device)).AcceptAsync(number);
        var (_, next) = await visitor.WaitForOutcomeAsync(waiting);

        var refused = await visitor.GetAsync(next!);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains($"The account {device.SelfId} is suspended.", visitor.Page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, (await visitor.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task StartedOnInstanceA_FinishedOnInstanceB_SignedInOnBAndNotReplayableOnA()
    {
        var app = await network.CreateAppAsync();
        var keys = _storage.Sub("shared-keys");
        var cache = new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions()));
        var shared = new SiteSettings { KeysDirectory = keys, SharedCache = cache };
        await using var a = await SignInSite.StartAsync(network, app, _storage, shared);
        await using var device = await ConnectedDeviceAsync(app.AppId);
        var cookies = new System.Net.CookieContainer();
        using var onA = new Visitor(a.CreateBrowser(cookies));
        var (waiting, number) = await PushAsync(onA, device.SelfId);
        await (await NextRequestAsync(device)).AcceptAsync(number);
        var (_, next) = await onA.WaitForOutcomeAsync(waiting);

        // The load balancer sends the callback to another instance; cookies of 127.0.0.1 are shared across ports.
        await using var b = await SignInSite.StartAsync(network, app, _storage, shared);
        using var onB = new Visitor(b.CreateBrowser(cookies));
        var callback = await onB.GetAsync(next!);
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        await onB.GetAsync("/");
        Assert.Equal($"Signed in as {device.SelfId}", onB.Page);

        using var replay = new Visitor(a.CreateBrowser(cookies));
        Assert.Equal(HttpStatusCode.BadRequest, (await replay.GetAsync(next!)).StatusCode);
    }

    [Fact]
    public async Task Push_WrongNumberTyped_NothingSentThenThreeWrongRejects()
    {
        var app = await network.CreateAppAsync();
        await using var site = await SignInSite.StartAsync(network, app, _storage);
        await using var device = await ConnectedDeviceAsync(app.AppId);
        using var visitor = new Visitor(site.CreateBrowser());
        var (waiting, number) = await PushAsync(visitor, device.SelfId);
        var request = await NextRequestAsync(device);
        var wrong = number == "00" ? "01" : "00";

        await Assert.ThrowsAsync<NumberMismatchException>(() => request.AcceptAsync());
        var first = await Assert.ThrowsAsync<NumberMismatchException>(() => request.AcceptAsync(wrong));
        Assert.Equal(2, first.AttemptsLeft);
        await visitor.GetAsync(waiting.Replace("/signin-self?", "/signin-self/status?", StringComparison.Ordinal));
        Assert.Contains("\"status\":\"waiting\"", visitor.Page, StringComparison.Ordinal);
        await Assert.ThrowsAsync<NumberMismatchException>(() => request.AcceptAsync(wrong));
        var last = await Assert.ThrowsAsync<NumberMismatchException>(() => request.AcceptAsync(wrong));

        Assert.Equal(0, last.AttemptsLeft);
        var (status, next) = await visitor.WaitForOutcomeAsync(waiting);
        Assert.Equal("rejected", status);
        await visitor.GetAsync(next!);
        Assert.Equal(HttpStatusCode.Redirect, (await visitor.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task NumberMatchingOff_NoNumberShownAndAPlainAcceptSignsIn()
    {
        var app = await network.CreateAppAsync();
        await using var site = await SignInSite.StartAsync(network, app, _storage, new SiteSettings { Configure = o => o.NumberMatching = false });
        await using var device = await ConnectedDeviceAsync(app.AppId);
        using var visitor = new Visitor(site.CreateBrowser());
        await visitor.OpenProtectedPageAsync();
        var waiting = Visitor.Location(await visitor.SubmitAsync("push", device.SelfId));
        await visitor.GetAsync(waiting);
        Assert.Null(visitor.Number);
        var request = await NextRequestAsync(device);
        Assert.False(request.RequiresNumber);

        await request.AcceptAsync();
        var (status, next) = await visitor.WaitForOutcomeAsync(waiting);
        Assert.Equal("accepted", status);
        await visitor.GetAsync(next!);
        await visitor.GetAsync("/");
        Assert.Equal($"Signed in as {device.SelfId}", visitor.Page);
    }

    [Fact]
    public async Task StatusStream_SendsWaitingThenTheOutcome()
    {
        var app = await network.CreateAppAsync();
        await using var site = await SignInSite.StartAsync(network, app, _storage);
        await using var device = await ConnectedDeviceAsync(app.AppId);
        using var visitor = new Visitor(site.CreateBrowser());
        var (waiting, number) = await PushAsync(visitor, device.SelfId);
        var request = await NextRequestAsync(device);

        using var get = new HttpRequestMessage(HttpMethod.Get, waiting.Replace("/signin-self?", "/signin-self/status?", StringComparison.Ordinal));
        get.Headers.Accept.ParseAdd("text/event-stream");
        using var stop = new CancellationTokenSource(Visitor.Patience);
        using var response = await visitor.Http.SendAsync(get, HttpCompletionOption.ResponseHeadersRead, stop.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(stop.Token));
        var events = new List<string>();
        while (await reader.ReadLineAsync(stop.Token) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add(line);
                if (events.Count == 1)
                {
                    await request.AcceptAsync(number);
                }
            }
        }

        Assert.Equal(2, events.Count);
        Assert.Contains("\"status\":\"waiting\"", events[0], StringComparison.Ordinal);
        Assert.Contains("\"status\":\"accepted\"", events[1], StringComparison.Ordinal);
        Assert.Contains("/signin-self/callback?state=", events[1], StringComparison.Ordinal);
    }

    private async Task<SelfDevice> ConnectedDeviceAsync(string appId)
    {
        var device = await network.RegisterDeviceAsync(_storage);
        await device.ConnectAsync(appId);
        return device;
    }

    /// <summary>From the protected page to "waiting": returns the waiting page's URL and the number it shows.</summary>
    private static async Task<(string Waiting, string Number)> PushAsync(Visitor visitor, string selfId)
    {
        await visitor.OpenProtectedPageAsync();
        var sent = await visitor.SubmitAsync("push", selfId);
        Assert.Equal(HttpStatusCode.SeeOther, sent.StatusCode);
        var waiting = Visitor.Location(sent);
        await visitor.GetAsync(waiting);
        Assert.Equal("waiting", visitor.Stage);
        return (waiting, visitor.Number ?? throw new InvalidOperationException("The waiting page shows no number:\n" + visitor.Page));
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
