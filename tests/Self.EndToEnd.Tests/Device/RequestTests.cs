using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Self.Device;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Protocol.Messages;
using Self.Sdk.Authentication;

namespace Self.EndToEnd.Tests.Device;

/// <summary>Incoming authentication requests (spec §9, §10): shown, answered, refused, dropped.</summary>
[Collection(NetworkCollection.Name)]
public sealed class RequestTests(NetworkFixture network) : IDisposable
{
    private readonly TempDirectory _storage = new("device-requests");

    public void Dispose() => _storage.Dispose();

    [Fact]
    public async Task CurrentForm_PersonAccepts_RequestShowsWhoAndWhyAndAppGetsAccepted()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage, name: "Bookshop");
        await using var _ = client;
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "accepting");
        await device.ConnectAsync(app.AppId);

        var pending = client.Authentication.RequestAsync(device.SelfId, new AuthenticationRequestOptions
        {
            Description = "Sign in to the bookshop",
            BindingMessage = "blue-otter-42",
            Expiry = TimeSpan.FromMinutes(2),
        });
        var request = await device.NextRequestAsync();

        Assert.Equal(app.AppId, request.AppId);
        Assert.Equal("Bookshop", request.AppName);
        Assert.Equal("Sign in to the bookshop", request.Description);
        Assert.Equal("blue-otter-42", request.BindingMessage);
        Assert.False(request.IsLegacy);
        Assert.Equal(RequestOrigin.Message, request.Origin);
        Assert.Equal(device.SelfId, request.Subject);
        Assert.InRange(request.ExpiresAt - request.IssuedAt, TimeSpan.FromSeconds(119), TimeSpan.FromSeconds(121));
        Assert.Null(request.Answer);
        Assert.Contains(request, device.OpenRequests);

        await request.AcceptAsync();

        var response = await pending.WaitAsync(DeviceKit.Patience);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
        Assert.Equal(device.SelfId, response.SelfId);
        Assert.Equal(device.DeviceId, response.DeviceId);
        Assert.Equal(request.ConversationId, response.ConversationId);
        Assert.Equal(RequestAnswer.Accepted, request.Answer);
        Assert.Empty(device.OpenRequests);
        await Assert.ThrowsAsync<RequestAlreadyAnsweredException>(() => request.RejectAsync());
    }

    [Fact]
    public async Task CurrentForm_PersonRejects_AppGetsRejected()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "rejecting");
        await device.ConnectAsync(app.AppId);

        var pending = client.Authentication.RequestAsync(device.SelfId);
        await (await device.NextRequestAsync()).RejectAsync();

        var response = await pending.WaitAsync(DeviceKit.Patience);
        Assert.Equal(AuthenticationStatus.Rejected, response.Status);
        Assert.Equal(device.SelfId, response.SelfId);
    }

    [Fact]
    public async Task CurrentForm_Answer_CarriesEveryClaimTheSpecAsksFor()
    {
        await using var app = await RawApp.StartAsync(network, _storage);
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "claims");
        await device.ConnectAsync(app.AppId);
        var claims = app.Request(device.SelfId);

        await app.SendAsync(device.SelfId, claims);
        await (await device.NextRequestAsync()).AcceptAsync();

        var answer = await app.WaitForAnswerAsync(claims.Cid!);
        Assert.Equal(MessageTypes.FactsQueryResponse, answer.Claim("typ"));
        AssertAnswer(answer, device, app, claims, ResponseStatuses.Accepted);
    }

    [Fact]
    public async Task LegacyForm_AcceptedAndRejected_AnsweredWithAuthenticateResp()
    {
        await using var app = await RawApp.StartAsync(network, _storage);
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "legacy");
        await device.ConnectAsync(app.AppId);
        var first = app.Request(device.SelfId, legacy: true);
        var second = app.Request(device.SelfId, legacy: true);

        await app.SendAsync(device.SelfId, first);
        var shown = await device.NextRequestAsync();
        Assert.True(shown.IsLegacy);
        Assert.Equal(first.Cid, shown.ConversationId);
        Assert.Null(shown.Description);
        await shown.AcceptAsync();
        await app.SendAsync(device.SelfId, second);
        await (await device.NextRequestAsync()).RejectAsync();

        var accepted = await app.WaitForAnswerAsync(first.Cid!);
        var rejected = await app.WaitForAnswerAsync(second.Cid!);
        Assert.Equal(MessageTypes.AuthenticateResponse, accepted.Claim("typ"));
        Assert.Equal(MessageTypes.AuthenticateResponse, rejected.Claim("typ"));
        AssertAnswer(accepted, device, app, first, ResponseStatuses.Accepted);
        AssertAnswer(rejected, device, app, second, ResponseStatuses.Rejected);
    }

    [Fact]
    public async Task ConsentPolicy_DecidesAlone_AnswersAndReportsTheRequest()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        var policy = ConsentPolicies.From(r => r.BindingMessage == "yes" ? ConsentDecision.Accept : ConsentDecision.Reject);
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "automatic", policy);
        var reported = new List<RequestAnsweredEventArgs>();
        var bothReported = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        device.RequestAnswered += (_, e) =>
        {
            lock (reported)
            {
                reported.Add(e);
                if (reported.Count == 2)
                {
                    bothReported.TrySetResult();
                }
            }
        };
        await device.ConnectAsync(app.AppId);

        var yes = await client.Authentication.RequestAsync(device.SelfId, new AuthenticationRequestOptions { BindingMessage = "yes" }).WaitAsync(DeviceKit.Patience);
        var no = await client.Authentication.RequestAsync(device.SelfId, new AuthenticationRequestOptions { BindingMessage = "no" }).WaitAsync(DeviceKit.Patience);
        // The device reports an answer after sending it, so the app may hear the answer first.
        await bothReported.Task.WaitAsync(DeviceKit.Patience);

        Assert.Equal(AuthenticationStatus.Accepted, yes.Status);
        Assert.Equal(AuthenticationStatus.Rejected, no.Status);
        lock (reported)
        {
            Assert.Equal([yes.ConversationId, no.ConversationId], reported.Select(e => e.Request.ConversationId));
            Assert.Equal([RequestAnswer.Accepted, RequestAnswer.Rejected], reported.Select(e => e.Answer));
            Assert.All(reported, e => Assert.True(e.ByPolicy));
        }

        Assert.Empty(device.OpenRequests);
    }

    [Fact]
    public async Task OneCommitPerRequest_ThePolicysAnswerCarriesItsReceive_APersonsRequestIsKeptInIt()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        var policy = ConsentPolicies.From(r => r.BindingMessage == "ask" ? ConsentDecision.Ask : ConsentDecision.Accept);
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "one-commit", policy);
        await device.ConnectAsync(app.AppId);

        // The first request makes the sessions: a pre-key message changes the Olm account, which is committed alone.
        Assert.Equal(AuthenticationStatus.Accepted, (await client.Authentication.RequestAsync(device.SelfId).WaitAsync(DeviceKit.Patience)).Status);

        // Then each request and its answer are one transaction: durable together before the answer leaves.
        var before = device.StoreTransactionCount;
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(AuthenticationStatus.Accepted, (await client.Authentication.RequestAsync(device.SelfId).WaitAsync(DeviceKit.Patience)).Status);
        }

        Assert.Equal(3, device.StoreTransactionCount - before);

        // A request left to a person is kept (for after a restart) in its receive's transaction.
        before = device.StoreTransactionCount;
        var pending = client.Authentication.RequestAsync(device.SelfId, new AuthenticationRequestOptions { BindingMessage = "ask" });
        var asked = await device.NextRequestAsync();
        Assert.Equal(1, device.StoreTransactionCount - before);
        await asked.AcceptAsync();
        Assert.Equal(AuthenticationStatus.Accepted, (await pending.WaitAsync(DeviceKit.Patience)).Status);
    }

    [Fact]
    public async Task UnconnectedApp_RequestStillInTheInbox_AnsweredUnauthorizedAndNotShown()
    {
        // The network carries requests only from connected apps: the request reaches the second device's inbox while
        // the user is connected, and the user disconnects (from the first device) before the second device reads it.
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        await using var first = await DeviceKit.RegisterAsync(network, _storage, "online");
        var secondOptions = DeviceKit.Options(network, _storage, "offline");
        await (await SelfDevice.EnrollAsync(secondOptions, await first.AddDeviceAsync())).DisposeAsync();
        await first.ConnectAsync(app.AppId);

        var pending = client.Authentication.RequestAsync(first.SelfId);
        var atFirst = await first.NextRequestAsync();
        await first.DisconnectAsync(app.AppId);
        await using var second = await SelfDevice.OpenAsync(secondOptions with
        {
            ConsentPolicy = ConsentPolicies.From(_ => throw new InvalidOperationException("an unconnected app's request reached the policy")),
        });

        var response = await pending.WaitAsync(DeviceKit.Patience);

        Assert.Equal(AuthenticationStatus.Unauthorized, response.Status);
        Assert.Equal("2", response.DeviceId);
        Assert.Equal(atFirst.ConversationId, response.ConversationId);
        Assert.Empty(second.OpenRequests);
        Assert.Null(atFirst.Answer);
    }

    [Fact]
    public async Task RequestsFailingAChecks_DroppedAndNeverShownOrAnswered()
    {
        await using var app = await RawApp.StartAsync(network, _storage);
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "checks");
        await device.ConnectAsync(app.AppId);
        var now = DateTimeOffset.UtcNow;
        var tooLong = app.Request(device.SelfId, lifetime: TimeSpan.FromHours(25));
        var expired = app.Request(device.SelfId, lifetime: TimeSpan.FromSeconds(-1));
        var otherUser = app.Request(device.SelfId) with { Sub = DeviceKit.FreshSelfId(), Aud = DeviceKit.FreshSelfId() };
        var future = app.Request(device.SelfId, now: now.AddMinutes(10));
        var factsQuery = app.Request(device.SelfId) with { Auth = null };
        var good = app.Request(device.SelfId, lifetime: TimeSpan.FromHours(23));

        foreach (var claims in new[] { tooLong, expired, otherUser, future, factsQuery, good })
        {
            await app.SendAsync(device.SelfId, claims);
        }

        // Requests are handled in inbox order: had any bad one passed, it would come first.
        var shown = await device.NextRequestAsync();
        Assert.Equal(good.Cid, shown.ConversationId);
        Assert.Equal([shown], device.OpenRequests);
        await shown.RejectAsync();
        Assert.Equal(ResponseStatuses.Rejected, (await app.WaitForAnswerAsync(good.Cid!)).Claim("status"));
    }

    [Fact]
    public async Task ExpiredRequest_AcceptOrReject_ThrowsRequestExpiredAndSendsNothing()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await RawApp.StartAsync(network, _storage);
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "slow-person", time: time);
        await device.ConnectAsync(app.AppId);
        var claims = app.Request(device.SelfId, now: time.GetUtcNow(), lifetime: TimeSpan.FromSeconds(30));
        var later = app.Request(device.SelfId, now: time.GetUtcNow(), lifetime: TimeSpan.FromMinutes(5));
        await app.SendAsync(device.SelfId, claims);
        var request = await device.NextRequestAsync();

        time.Advance(TimeSpan.FromSeconds(31));

        var error = await Assert.ThrowsAsync<RequestExpiredException>(() => request.AcceptAsync());
        Assert.Equal("request_expired", error.ErrorCode);
        Assert.Equal(claims.Cid, error.ConversationId);
        await Assert.ThrowsAsync<RequestExpiredException>(() => request.RejectAsync());
        Assert.Null(request.Answer);
        Assert.Empty(device.OpenRequests);

        // Nothing was sent for the expired one: the next answer the app gets is the one to the later request.
        await app.SendAsync(device.SelfId, later);
        await (await device.NextRequestAsync()).AcceptAsync();
        var answer = await app.WaitForAnswerAsync(later.Cid!);
        Assert.Equal(ResponseStatuses.Accepted, answer.Claim("status"));
        Assert.False(app.HasReceived(claims.Cid!));
    }

    [Fact]
    public async Task OpenRequest_DeviceRestarts_ShownAgainAndAnswerable()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        var options = DeviceKit.Options(network, _storage, "restarting");
        string cid;
        await using (var device = await SelfDevice.RegisterAsync(options))
        {
            await device.ConnectAsync(app.AppId);
            cid = await client.Authentication.SendAsync(device.SelfId);
            Assert.Equal(cid, (await device.NextRequestAsync()).ConversationId);
        }

        await using var reopened = await SelfDevice.OpenAsync(options);
        var again = await reopened.NextRequestAsync();
        Assert.Equal(cid, again.ConversationId);
        await again.AcceptAsync();

        var response = await client.Authentication.WaitForResponseAsync(cid).WaitAsync(DeviceKit.Patience);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
    }

    [Fact]
    public async Task QrCode_Scanned_AnswerNamesTheUserWithoutAConnection()
    {
        var (_, client) = await TestIdentities.StartClientAsync(network, _storage, name: "Kiosk");
        await using var _ = client;
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "scanner");
        var qr = await client.Authentication.GenerateQrCodeAsync(new AuthenticationRequestOptions { BindingMessage = "kiosk 7" });

        var request = await device.ReadQrAsync(qr.Payload);
        Assert.Equal(RequestOrigin.QrCode, request.Origin);
        Assert.Equal("-", request.Subject);
        Assert.Equal("Kiosk", request.AppName);
        Assert.Equal("kiosk 7", request.BindingMessage);
        await request.AcceptAsync();

        var response = await client.Authentication.WaitForResponseAsync(qr.ConversationId).WaitAsync(DeviceKit.Patience);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
        Assert.Equal(device.SelfId, response.SelfId);
        Assert.Equal(device.DeviceId, response.DeviceId);
        await Assert.ThrowsAsync<InvalidRequestException>(() => device.AnswerQrAsync(qr.Payload, accept: true));
    }

    [Fact]
    public async Task DeepLink_Opened_AnswerQrAsyncRejects()
    {
        var (_, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "link-opener");
        var link = await client.Authentication.GenerateDeepLinkAsync(new Uri("https://shop.example/signed-in"));

        var request = await device.AnswerQrAsync(link.Link.AbsoluteUri, accept: false);

        Assert.Equal(RequestOrigin.DeepLink, request.Origin);
        Assert.Equal(RequestAnswer.Rejected, request.Answer);
        var response = await client.Authentication.WaitForResponseAsync(link.ConversationId).WaitAsync(DeviceKit.Patience);
        Assert.Equal(AuthenticationStatus.Rejected, response.Status);
        Assert.Equal(device.SelfId, response.SelfId);
    }

    [Fact]
    public async Task QrCode_TamperedOrExpired_ThrowsAndSendsNothing()
    {
        await using var app = await RawApp.StartAsync(network, _storage);
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "careful-scanner");
        var now = DateTimeOffset.UtcNow;
        var claims = app.Request("-");
        var genuine = JsonDocument.Parse(app.Sign(claims)).RootElement;
        var otherPayload = JsonDocument.Parse(app.Sign(claims with { BindingMessage = "pay 1000" })).RootElement.GetProperty("payload").GetString();
        var tampered = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["payload"] = otherPayload!,
            ["protected"] = genuine.GetProperty("protected").GetString()!,
            ["signature"] = genuine.GetProperty("signature").GetString()!,
        });

        await Assert.ThrowsAsync<InvalidRequestException>(() => device.AnswerQrAsync(tampered, accept: true));
        await Assert.ThrowsAsync<RequestExpiredException>(() =>
            device.AnswerQrAsync(app.Sign(app.Request("-", now: now.AddMinutes(-10), lifetime: TimeSpan.FromMinutes(1))), accept: true));
        await Assert.ThrowsAsync<InvalidRequestException>(() => device.AnswerQrAsync(app.Sign(app.Request(DeviceKit.FreshSelfId())), accept: true));

        // The genuine one still answers, and it is the first answer the app sees.
        await device.AnswerQrAsync(app.Sign(claims), accept: true);
        Assert.Equal(ResponseStatuses.Accepted, (await app.WaitForAnswerAsync(claims.Cid!)).Claim("status"));
    }

    private static void AssertAnswer(RawApp.Answer answer, SelfDevice device, RawApp app, AuthenticationRequestClaims request, string status)
    {
        Assert.Equal(device.SelfId, answer.Claim("iss"));
        Assert.Equal(device.SelfId, answer.Claim("sub"));
        Assert.Equal(app.AppId, answer.Claim("aud"));
        Assert.Equal(request.Cid, answer.Claim("cid"));
        Assert.NotEqual(request.Jti, answer.Claim("jti"));
        Assert.True(Guid.TryParse(answer.Claim("jti"), out _));
        Assert.Equal(status, answer.Claim("status"));
        Assert.True(answer.Claims.GetProperty("auth").GetBoolean());
        Assert.Equal(JsonValueKind.Array, answer.Claims.GetProperty("facts").ValueKind);
        Assert.Equal(0, answer.Claims.GetProperty("facts").GetArrayLength());
        Assert.Equal(device.DeviceId, answer.Claim("device_id"));
        Assert.True(Rfc3339.TryParse(answer.Claim("iat"), out _));
        Assert.True(Rfc3339.TryParse(answer.Claim("exp"), out _));
        Assert.Equal(device.KeyId, answer.Jws.Header.Kid);
        Assert.Equal(device.SelfId + ":" + device.DeviceId, answer.Message.Sender.ToString());
    }
}
