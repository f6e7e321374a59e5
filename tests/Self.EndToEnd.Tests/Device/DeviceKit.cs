using System.Text.Json;
using System.Threading.Channels;
using Self.Device;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Messaging;
using Self.Protocol.Frames;
using Self.Protocol.Jws;
using Self.Protocol.Keys;
using Self.Protocol.Messages;
using Self.Sdk.Apps;

namespace Self.EndToEnd.Tests.Device;

/// <summary>Helpers of the device tests: devices in fresh folders, reading their requests, fresh ids.</summary>
internal static class DeviceKit
{
    /// <summary>How long a test waits for something that should happen promptly (a safety net, not a timing assumption).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static SelfDeviceOptions Options(NetworkFixture network, TempDirectory storage, string name, IConsentPolicy? policy = null, TimeProvider? time = null) =>
        TestDevices.Options(network, storage.Sub(name), policy, time) with { MaxRetries = 1 };

    public static Task<SelfDevice> RegisterAsync(NetworkFixture network, TempDirectory storage, string name, IConsentPolicy? policy = null, TimeProvider? time = null) =>
        SelfDevice.RegisterAsync(Options(network, storage, name, policy, time));

    /// <summary>The next request the device hands to a person.</summary>
    public static async Task<IncomingRequest> NextRequestAsync(this SelfDevice device)
    {
        using var stop = new CancellationTokenSource(Patience);
        await foreach (var request in device.ReadRequestsAsync(stop.Token))
        {
            return request;
        }

        throw new InvalidOperationException("The device's request stream ended.");
    }

    /// <summary>A Self ID nobody else asks for: 10 digits, random.</summary>
    public static string FreshSelfId() => "1" + Random.Shared.NextInt64(0, 1_000_000_000).ToString("D9", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A REST client acting as the app (any token may read histories; devices only once the user connected).</summary>
    public static SelfRestClient RestAs(NetworkFixture network, CreatedApp app) =>
        new(new HttpClient(), new SelfRestClientOptions { BaseAddress = network.ApiUrl, IdentityId = app.AppId, SigningKey = SigningKey.ParseSecret(app.Secret), MaxRetries = 0 });
}

/// <summary>
/// A minimal app built straight on Self.Messaging's endpoint: it signs whatever request claims a test gives it (the
/// legacy form, lifetimes the SDK refuses to make) and hands back the raw answers.
/// </summary>
internal sealed class RawApp : IAsyncDisposable
{
    private readonly Channel<ReceivedMessage> _received = Channel.CreateUnbounded<ReceivedMessage>();
    private readonly List<ReceivedMessage> _stash = [];

    private RawApp(CreatedApp app, SelfEndpoint endpoint)
    {
        App = app;
        Endpoint = endpoint;
        Key = SigningKey.ParseSecret(app.Secret);
    }

    public CreatedApp App { get; }

    public string AppId => App.AppId;

    public SigningKey Key { get; }

    public SelfEndpoint Endpoint { get; }

    public static async Task<RawApp> StartAsync(NetworkFixture network, TempDirectory storage, string name = "Raw App")
    {
        var app = await TestIdentities.CreateAppAsync(network, name);
        var endpoint = new SelfEndpoint(new SelfEndpointOptions
        {
            IdentityId = app.AppId,
            DeviceId = "1",
            SigningKey = SigningKey.ParseSecret(app.Secret),
            ApiUrl = network.ApiUrl,
            MessagingUrl = network.MessagingUrl,
            StorageDirectory = storage.Sub("raw-app-" + app.AppId),
            StorageKey = "raw-app-storage-key",
            MaxRetries = 1,
        });
        var raw = new RawApp(app, endpoint);
        endpoint.Subscribe((message, _) =>
        {
            raw._received.Writer.TryWrite(message);
            return ValueTask.CompletedTask;
        });
        await endpoint.StartAsync();
        return raw;
    }

    /// <summary>Current-form (or legacy) authentication request claims for <paramref name="selfId"/>, issued now.</summary>
    public AuthenticationRequestClaims Request(string selfId, bool legacy = false, TimeSpan? lifetime = null, DateTimeOffset? now = null)
    {
        var issued = now ?? DateTimeOffset.UtcNow;
        return new AuthenticationRequestClaims
        {
            Typ = legacy ? MessageTypes.AuthenticateRequest : MessageTypes.FactsQueryRequest,
            Iss = AppId,
            Sub = selfId,
            Aud = selfId,
            Iat = issued,
            Exp = issued + (lifetime ?? TimeSpan.FromMinutes(5)),
            Cid = Guid.NewGuid().ToString(),
            Jti = Guid.NewGuid().ToString(),
            Auth = legacy ? null : true,
            DeviceId = "1",
            Description = legacy ? null : "Sign in to the raw app",
        };
    }

    /// <summary>Signs <paramref name="claims"/> with the app's key and sends them to every device of <paramref name="selfId"/>.</summary>
    public Task SendAsync(string selfId, MessageClaims claims) =>
        Endpoint.SendAsync(selfId, SignedMessage.Sign(claims, Key), MsgSubType.AuthenticationReq, priority: 1);

    /// <summary>A signed message of the app as QR payload JSON.</summary>
    public string Sign(MessageClaims claims) => SignedMessage.Sign(claims, Key).ToJson();

    /// <summary>Waits for the message answering conversation <paramref name="cid"/>; others are kept for later calls.</summary>
    public async Task<Answer> WaitForAnswerAsync(string cid)
    {
        lock (_stash)
        {
            var kept = _stash.FirstOrDefault(m => CidOf(m) == cid);
            if (kept is not null)
            {
                _stash.Remove(kept);
                return new Answer(kept);
            }
        }

        using var stop = new CancellationTokenSource(DeviceKit.Patience);
        await foreach (var message in _received.Reader.ReadAllAsync(stop.Token))
        {
            if (CidOf(message) == cid)
            {
                return new Answer(message);
            }

            lock (_stash)
            {
                _stash.Add(message);
            }
        }

        throw new InvalidOperationException("The app's endpoint stopped.");
    }

    /// <summary>True when a message of conversation <paramref name="cid"/> arrived and was set aside by an earlier wait.</summary>
    public bool HasReceived(string cid)
    {
        lock (_stash)
        {
            return _stash.Any(m => CidOf(m) == cid);
        }
    }

    public ValueTask DisposeAsync() => Endpoint.DisposeAsync();

    private static string? CidOf(ReceivedMessage message)
    {
        using var claims = JsonDocument.Parse(message.Jws.PayloadBytes);
        return claims.RootElement.TryGetProperty("cid", out var cid) ? cid.GetString() : null;
    }

    /// <summary>An answer as the app received it (decrypted and verified against the user's history by the endpoint).</summary>
    public sealed class Answer(ReceivedMessage message)
    {
        public ReceivedMessage Message { get; } = message;

        public FlattenedJws Jws => Message.Jws;

        public JsonElement Claims { get; } = JsonDocument.Parse(message.Jws.PayloadBytes).RootElement.Clone();

        public string Claim(string name) => Claims.GetProperty(name).GetString()!;
    }
}
