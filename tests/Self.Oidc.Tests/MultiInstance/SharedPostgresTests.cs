using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Duende.IdentityModel.Client;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Self.Oidc.Storage;
using Self.Oidc.Clients;
using Self.Oidc.Tests.Ciba;
using Self.Oidc.Tests.Infrastructure;

namespace Self.Oidc.Tests.MultiInstance;

/// <summary>
/// Two provider instances on one real PostgreSQL (started by the test on loopback), as two <c>self oidc serve
/// --postgres … --device-id …</c> behind a load balancer: one issuer, one Self app, one set of clients, keys and
/// grants. Each instance is its own device of the app (docs/app-devices.md).
/// </summary>
[Collection(OidcCollection.Name)]
public sealed class SharedPostgresTests(OidcFixture fixture) : IAsyncLifetime
{
    private PostgresServer? _postgres;

    private string Postgres => _postgres?.ConnectionString ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => _postgres = await PostgresServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    [Fact]
    public async Task TwoInstances_CibaStartedOnA_RedeemedOnB_UsedIdRefusedOnBoth()
    {
        var (urlsOfA, issuer) = IssuerOnFreePort();
        // A second `self oidc serve` with its own folder: it must find the app, keys and clients A made, not make its own.
        await using var a = await StartAsync("a", urlsOfA, issuer, deviceId: "1");
        await using var b = await StartAsync("b", "http://127.0.0.1:0", issuer, deviceId: "b");
        Assert.Equal(a.AppId, b.AppId);

        // A client registered once (as `self oidc client add --postgres` does) is known to both.
        var created = await AddSharedClientAsync(new OidcClientRegistration { Name = "Shared client", CibaMode = "poll" });

        var atA = new CibaClient(fixture, created, a.BaseAddress);
        var atB = new CibaClient(fixture, created, b.BaseAddress);
        await using var device = await fixture.RegisterUserAsync();
        await device.ConnectAsync(a.AppId);

        var started = await atA.StartAsync(device.SelfId, bindingMessage: "TWO-INST");
        Assert.False(started.IsError, started.ErrorCode() + " " + started.Description());
        var request = await device.NextRequestAsync();
        Assert.Equal(a.AppId, request.AppId);
        Assert.Equal("TWO-INST", request.BindingMessage);

        // B knows the request A took, and that nobody has answered yet.
        var pending = await atB.RedeemAsync(started.AuthenticationRequestId);
        Assert.Equal("authorization_pending", pending.Error);

        await request.AcceptAsync();
        await fixture.WaitAnsweredAsync(started.AuthenticationRequestId!, b);
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        var tokens = await atB.RedeemAsync(started.AuthenticationRequestId);
        Assert.False(tokens.IsError, tokens.Error + " " + tokens.ErrorDescription);

        // B signed with the key A published: one key ring for the issuer.
        var idToken = await Tokens.ValidateIdTokenAsync(fixture, tokens.IdentityToken!, created.ClientId, issuer);
        Assert.Equal(device.SelfId, idToken.Subject);

        // Used on B: refused on A and on B.
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("invalid_grant", (await atA.RedeemAsync(started.AuthenticationRequestId)).Error);
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("invalid_grant", (await atB.RedeemAsync(started.AuthenticationRequestId)).Error);
    }

    /// <summary>Every instance hears every answer: the one that sent the request may be gone when the user answers.</summary>
    [Fact]
    public async Task TwoInstances_SenderStopsBeforeTheAnswer_TheOtherRecordsIt_RedeemedThere()
    {
        var (urlsOfA, issuer) = IssuerOnFreePort();
        var a = await StartAsync("a", urlsOfA, issuer, deviceId: "1");
        try
        {
            await using var b = await StartAsync("b", "http://127.0.0.1:0", issuer, deviceId: "b");
            var created = await AddSharedClientAsync(new OidcClientRegistration { Name = "Shared client", CibaMode = "poll" });

            await using var device = await fixture.RegisterUserAsync();
            await device.ConnectAsync(a.AppId);
            var started = await new CibaClient(fixture, created, a.BaseAddress).StartAsync(device.SelfId);
            Assert.False(started.IsError, started.ErrorCode() + " " + started.Description());
            var request = await device.NextRequestAsync();

            await a.DisposeAsync();
            await request.AcceptAsync();

            await fixture.WaitAnsweredAsync(started.AuthenticationRequestId!, b);
            fixture.Time.Advance(TimeSpan.FromSeconds(1));
            var tokens = await new CibaClient(fixture, created, b.BaseAddress).RedeemAsync(started.AuthenticationRequestId);
            Assert.False(tokens.IsError, tokens.Error + " " + tokens.ErrorDescription);
            Assert.Equal(device.SelfId, (await Tokens.ValidateIdTokenAsync(fixture, tokens.IdentityToken!, created.ClientId, b.BaseAddress, issuer)).Subject);
        }
        finally
        {
            await a.DisposeAsync();
        }
    }

    [Fact]
    public async Task TwoInstances_ClientSecretWrongOnEither_Refused()
    {
        var (urlsOfA, issuer) = IssuerOnFreePort();
        await using var a = await StartAsync("a", urlsOfA, issuer, deviceId: "1");
        await using var b = await StartAsync("b", "http://127.0.0.1:0", issuer, deviceId: "b");
        var created = await AddSharedClientAsync(new OidcClientRegistration { Name = "Shared client", CibaMode = "poll" });

        await using var device = await fixture.RegisterUserAsync();
        await device.ConnectAsync(a.AppId);
        foreach (var instance in new[] { a, b })
        {
            var refused = await new CibaClient(fixture, created, instance.BaseAddress).StartAsync(device.SelfId, secret: "not-the-secret");
            Assert.Equal("invalid_client", refused.ErrorCode());
        }
    }

    /// <summary>
    /// The code flow across instances (a load balancer without sticky sessions): the browser signs in on A's login page,
    /// B reads A's session cookie (data-protection keys in the shared database) and issues the code, A redeems it.
    /// </summary>
    [Fact]
    public async Task TwoInstances_CodeFlow_SignedInOnA_CodeFromB_RedeemedOnA()
    {
        var (urlsOfA, issuer) = IssuerOnFreePort();
        await using var a = await StartAsync("a", urlsOfA, issuer, deviceId: "1");
        await using var b = await StartAsync("b", "http://127.0.0.1:0", issuer, deviceId: "b");
        var redirect = new Uri("http://127.0.0.1:9/cb");
        var created = await AddSharedClientAsync(new OidcClientRegistration { Name = "Shared site", RedirectUris = [redirect] });

        await using var device = await fixture.RegisterUserAsync();
        await device.ConnectAsync(a.AppId);
        // One cookie jar for both instances: cookies do not depend on the port, as behind one host name.
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new System.Net.CookieContainer() });
        var state = "st-" + Guid.NewGuid().ToString("N");
        var authorize = "/connect/authorize?" + string.Join('&', new Dictionary<string, string>
        {
            ["client_id"] = created.ClientId,
            ["redirect_uri"] = redirect.AbsoluteUri,
            ["response_type"] = "code",
            ["scope"] = "openid",
            ["state"] = state,
            ["nonce"] = "n-" + Guid.NewGuid().ToString("N"),
        }.Select(p => p.Key + "=" + Uri.EscapeDataString(p.Value)));

        // On A: authorize → the login page → the Self ID → the number, typed on the device → the callback.
        var login = await FollowAsync(browser, new Uri(a.BaseAddress, authorize));
        Assert.StartsWith("/signin-self?state=", login.PathAndQuery, StringComparison.Ordinal);
        var form = await browser.GetStringAsync(login);
        var fields = Regex.Matches(form, "<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")
            .Take(2).ToDictionary(m => WebUtility.HtmlDecode(m.Groups[1].Value), m => WebUtility.HtmlDecode(m.Groups[2].Value));
        fields["selfId"] = device.SelfId;
        fields["mode"] = "push";
        using var sent = await browser.PostAsync(new Uri(a.BaseAddress, "/signin-self"), new FormUrlEncodedContent(fields));
        Assert.Equal(HttpStatusCode.SeeOther, sent.StatusCode);
        var waiting = new Uri(a.BaseAddress, sent.Headers.Location!);
        var number = Regex.Match(await browser.GetStringAsync(waiting), "id=\"number\"[^>]*>([0-9]+)<").Groups[1].Value;
        await (await device.NextRequestAsync()).AcceptAsync(number);
        var callback = await WaitForCallbackAsync(browser, new Uri(a.BaseAddress, waiting.PathAndQuery.Replace("/signin-self?", "/signin-self/status?", StringComparison.Ordinal)));
        using var signedIn = await browser.GetAsync(new Uri(a.BaseAddress, callback));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        var back = signedIn.Headers.Location!.OriginalString;
        Assert.StartsWith("/connect/authorize?", back, StringComparison.Ordinal);

        // On B: A's session cookie is read there, and B issues the code.
        using var coded = await browser.GetAsync(new Uri(b.BaseAddress, back));
        Assert.Equal(HttpStatusCode.Redirect, coded.StatusCode);
        var answer = coded.Headers.Location!;
        Assert.StartsWith(redirect.AbsoluteUri, answer.AbsoluteUri, StringComparison.Ordinal);
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(answer.Query);
        Assert.Equal(state, query["state"].ToString());

        // On A: the code B issued is redeemed.
        var tokens = await fixture.Http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = new Uri(a.BaseAddress, "connect/token").AbsoluteUri,
            ClientId = created.ClientId,
            ClientSecret = created.ClientSecret,
            Code = query["code"].ToString(),
            RedirectUri = redirect.AbsoluteUri,
        });
        Assert.False(tokens.IsError, tokens.Error + " " + tokens.ErrorDescription);
        var idToken = await Tokens.ValidateIdTokenAsync(fixture, tokens.IdentityToken!, created.ClientId, issuer);
        Assert.Equal(device.SelfId, idToken.Subject);

        // The keys that protected the cookie are in the shared database (not in a folder of one machine).
        var databases = b.Services.GetRequiredService<IDbContextFactory<OidcDbContext>>();
        await using var db = await databases.CreateDbContextAsync();
        Assert.NotEmpty(await db.DataProtectionKeys.AsNoTracking().ToListAsync());
    }

    /// <summary>A free port for instance A, and the issuer both instances announce (A's address, as behind one name).</summary>
    private static (string UrlsOfA, Uri Issuer) IssuerOnFreePort()
    {
        var port = Machine.FreePort().ToString(CultureInfo.InvariantCulture);
        return ($"http://127.0.0.1:{port}", new Uri($"http://127.0.0.1:{port}/"));
    }

    /// <summary>Registers a client once in the shared database, as <c>self oidc client add --postgres</c> does.</summary>
    private async Task<OidcClientCreated> AddSharedClientAsync(OidcClientRegistration registration)
    {
        await using var clients = await SelfOidcClients.OpenAsync(fixture.Data.Sub("pg-cli-" + Guid.NewGuid().ToString("N")), Postgres);
        return await clients.AddAsync(registration);
    }

    /// <summary>Follows redirects on <paramref name="start"/>'s host until a page answers; returns that page's URL.</summary>
    private static async Task<Uri> FollowAsync(HttpClient browser, Uri start)
    {
        var url = start;
        for (var hop = 0; hop < 10; hop++)
        {
            using var response = await browser.GetAsync(url);
            if (response.StatusCode is not (HttpStatusCode.Redirect or HttpStatusCode.Found or HttpStatusCode.SeeOther))
            {
                return url;
            }

            url = new Uri(url, response.Headers.Location!);
        }

        throw new InvalidOperationException("too many redirects from " + start);
    }

    /// <summary>Polls the login page's status (as its script falls back to) until the request ended; returns the callback URL.</summary>
    private static async Task<string> WaitForCallbackAsync(HttpClient browser, Uri status)
    {
        string? next = null;
        await Waiting.UntilAsync(
            async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, status);
                request.Headers.Accept.ParseAdd("application/json");
                using var response = await browser.SendAsync(request);
                using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                if (!json.RootElement.GetProperty("terminal").GetBoolean())
                {
                    return false;
                }

                Assert.Equal("accepted", json.RootElement.GetProperty("status").GetString());
                next = json.RootElement.GetProperty("next").GetString();
                return true;
            },
            "the end of the sign-in request");
        return next!;
    }

    private Task<SelfOidcServer> StartAsync(string name, string urls, Uri issuer, string deviceId) =>
        fixture.StartProviderAsync(
            fixture.Data.Sub($"pg-{name}-{Guid.NewGuid():N}"),
            o => o.Options = o.Options with { Urls = urls, Issuer = issuer, PostgresConnectionString = Postgres, AppDeviceId = deviceId });
}
