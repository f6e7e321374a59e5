using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Messaging;
using Self.Protocol.Frames;
using Self.Protocol.Messages;
using Self.Sdk;
using Self.Sdk.Authentication;

namespace Self.EndToEnd.Tests.Sdk;

/// <summary>
/// Hole 5 end to end (spec §9): the app refuses an answer whose own <c>exp</c> has passed, and one whose <c>iat</c>
/// precedes its request's (less the skew), even though it is signed by the user's valid key and arrives through the
/// network like any answer. A real SelfDevice never sends either (it checks the request's times first and copies its
/// exp), so the user's device here is a messaging endpoint with the user's real key and Olm sessions that signs the
/// answer the test gives it.
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class ResponseTimeTests(NetworkFixture network) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _storage = new("response-times");

    public void Dispose() => _storage.Dispose();

    [Theory]
    [InlineData("valid", null)]
    [InlineData("own exp passed", "the response has expired")]
    [InlineData("iat before the request's", "iat is earlier than the request's")]
    public async Task DeviceAnswers_WithTheseTimes_AppCountsOnlyTheValidOne(string answer, string? refusal)
    {
        var logs = new RecordingLoggers();
        var app = await TestIdentities.CreateAppAsync(network, "Response Times");
        await using var client = new SelfClient(TestIdentities.ClientOptions(network, app, _storage) with { LoggerFactory = logs });
        await client.StartAsync();

        // The user's key is valid from ten minutes ago, so an iat two minutes before the request is still signed by a
        // key of its history: only the time rule can refuse it.
        var user = await TestIdentities.RegisterRawUserAsync(network.ApiUrl, publishOneTimeKeys: false, createdAt: DateTimeOffset.UtcNow.AddMinutes(-10));
        await TestIdentities.ConnectAsync(user, app.AppId);
        var requests = new ConcurrentQueue<ReceivedMessage>();
        var arrived = new SemaphoreSlim(0);
        await using var device = new SelfEndpoint(new SelfEndpointOptions
        {
            IdentityId = user.SelfId,
            DeviceId = "1",
            SigningKey = user.DeviceKey,
            ApiUrl = network.ApiUrl,
            MessagingUrl = network.MessagingUrl,
            StorageDirectory = _storage.Sub("device-" + user.SelfId),
            StorageKey = "response-times-device",
        });
        device.Subscribe((message, _) =>
        {
            requests.Enqueue(message);
            arrived.Release();
            return ValueTask.CompletedTask;
        });
        await device.StartAsync();

        var cid = await client.Authentication.SendAsync(user.SelfId, new AuthenticationRequestOptions { Expiry = TimeSpan.FromSeconds(8) });
        Assert.True(await arrived.WaitAsync(Patience), "the request did not reach the device");
        Assert.True(requests.TryDequeue(out var message));
        var request = SignedMessage.ReadClaims<AuthenticationRequestClaims>(message.Jws);
        Assert.Equal(cid, request.Cid);

        var now = DateTimeOffset.UtcNow;
        var (iat, exp) = answer switch
        {
            "valid" => (now, request.Exp),
            "own exp passed" => (now.AddSeconds(-3), now.AddSeconds(-1)),
            _ => (request.Iat - TimeSpan.FromMinutes(2), request.Exp),
        };
        var response = SignedMessage.Sign(
            new AuthenticationResponseClaims
            {
                Typ = MessageTypes.ResponseTypeFor(request.Typ)!,
                Iss = user.SelfId,
                Sub = user.SelfId,
                Aud = app.AppId,
                Iat = iat,
                Exp = exp,
                Cid = cid,
                Jti = Guid.NewGuid().ToString(),
                Status = ResponseStatuses.Accepted,
                Auth = true,
                Facts = [],
                DeviceId = "1",
            },
            user.DeviceKey);
        await device.SendAsync(app.AppId, response, MsgSubType.AuthenticationResp, priority: 0);

        var outcome = await client.Authentication.WaitForResponseAsync(cid).WaitAsync(Patience);
        if (refusal is null)
        {
            Assert.Equal(AuthenticationStatus.Accepted, outcome.Status);
            Assert.DoesNotContain(logs.Messages, static m => m.StartsWith("Response dropped", StringComparison.Ordinal));
            return;
        }

        // Refused with its reason, and the request then ends as if nobody had answered.
        Assert.Contains(logs.Messages, m => m == $"Response dropped ({refusal}): cid {cid} from {user.SelfId}:1");
        Assert.Equal(AuthenticationStatus.Expired, outcome.Status);
        Assert.Equal(user.SelfId, outcome.SelfId);
        Assert.Null(outcome.DeviceId);
    }

    /// <summary>Keeps every formatted log message of the client.</summary>
    private sealed class RecordingLoggers : ILoggerFactory, ILoggerProvider, ILogger
    {
        private readonly ConcurrentQueue<string> _messages = new();

        public IReadOnlyCollection<string> Messages => _messages;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _messages.Enqueue(formatter(state, exception));

        public void Dispose()
        {
        }
    }
}
