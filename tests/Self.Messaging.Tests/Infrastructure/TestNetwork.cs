using System.Text.Json;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;
using Self.Protocol.Messages;
using Self.Network;

namespace Self.Messaging.Tests.Infrastructure;

/// <summary>
/// The kit's network fixture (the real server in-process on 127.0.0.1, a free port, a temp data folder; one per test
/// class) with the messaging layer's own helpers: REST clients of <c>Self.Messaging</c>, raw identities, signed
/// test messages.
/// </summary>
public sealed partial class TestNetwork : NetworkFixture
{
    public TestNetwork()
        : base(new NetworkFixtureOptions
        {
            // Tests create many identities and messages quickly; the limits have their own tests in Self.Network.
            RateLimits = new RateLimitOptions { MessagesPerRecipient = 0, IdentitiesPerClient = 0, FramesPerConnection = 0 },
        })
    {
    }

    /// <summary>A REST client with no identity (registration, app creation).</summary>
    internal SelfRestClient Anonymous(TimeProvider? time = null) =>
        new(Http, new SelfRestClientOptions { BaseAddress = ApiUrl, TimeProvider = time ?? TimeProvider.System });

    internal SelfRestClient RestFor(TestIdentity identity, TimeProvider? time = null) =>
        new(Http, new SelfRestClientOptions
        {
            BaseAddress = ApiUrl,
            IdentityId = identity.Id,
            SigningKey = identity.DeviceKey,
            TimeProvider = time ?? TimeProvider.System,
        });

    /// <summary>Registers a new user with one device (<c>"1"</c>), without publishing one-time keys.</summary>
    public async Task<TestIdentity> RegisterUserAsync(string deviceId = "1", DateTimeOffset? created = null)
    {
        var deviceKey = SigningKey.Generate();
        var recoveryKey = SigningKey.Generate();
        var root = HistoryOperations.CreateIdentity(deviceKey, deviceId, recoveryKey, created ?? TimeProvider.System.GetUtcNow().AddSeconds(-1));
        var id = await Anonymous().RegisterIdentityAsync(root);
        return new TestIdentity(id, deviceId, deviceKey, recoveryKey);
    }

    /// <summary>Creates a new app (device <c>"1"</c>, key id <c>"1"</c> as an app secret <c>1:seed</c> implies).</summary>
    public async Task<TestIdentity> CreateAppAsync(string name = "Test App")
    {
        var deviceKey = SigningKey.Generate("1");
        var recoveryKey = SigningKey.Generate();
        var root = HistoryOperations.CreateIdentity(deviceKey, "1", recoveryKey, TimeProvider.System.GetUtcNow().AddSeconds(-1));
        var id = await Anonymous().CreateAppAsync(AdminToken, name, root);
        return new TestIdentity(id, "1", deviceKey, recoveryKey);
    }

    /// <summary>The user connects to (permits) the app.</summary>
    public Task PermitAsync(TestIdentity user, string appId) =>
        RestFor(user).PermitConnectionAsync(Permit(user, appId, MessageTypes.AclPermit));

    public static FlattenedJws Permit(TestIdentity user, string appId, string typ)
    {
        var now = TimeProvider.System.GetUtcNow();
        return SignedMessage.Sign(
            new AclClaims
            {
                Typ = typ,
                Iss = user.Id,
                Sub = user.Id,
                Iat = now.AddSeconds(-1),
                Exp = now.AddMinutes(10),
                Jti = Guid.NewGuid().ToString(),
                AclSource = appId,
                AclExp = now.AddDays(30),
            },
            user.DeviceKey);
    }

    /// <summary>A signed test message from <paramref name="sender"/> to <paramref name="recipientId"/>.</summary>
    public static FlattenedJws Message(TestIdentity sender, string recipientId, string text, SigningKey? signWith = null, string? issuer = null)
    {
        var now = TimeProvider.System.GetUtcNow();
        var claims = new Dictionary<string, object>
        {
            ["typ"] = "test.message",
            ["iss"] = issuer ?? sender.Id,
            ["sub"] = recipientId,
            ["aud"] = recipientId,
            ["iat"] = Rfc3339.Format(now.AddSeconds(-1)),
            ["exp"] = Rfc3339.Format(now.AddMinutes(5)),
            ["cid"] = Guid.NewGuid().ToString(),
            ["jti"] = Guid.NewGuid().ToString(),
            ["text"] = text,
        };
        var json = JsonSerializer.SerializeToUtf8Bytes(claims);
        var key = signWith is null ? sender.DeviceKey : SigningKey.FromSeed(sender.DeviceKey.Kid, signWith.Seed);
        return FlattenedJws.Sign(json, key);
    }

    public static string TextOf(FlattenedJws jws)
    {
        using var document = JsonDocument.Parse(jws.PayloadBytes);
        return document.RootElement.GetProperty("text").GetString()!;
    }
}

/// <summary>An identity the tests registered: its id, device and keys.</summary>
public sealed record TestIdentity(string Id, string DeviceId, SigningKey DeviceKey, SigningKey RecoveryKey)
{
    public Protocol.Identifiers.Address Address => new(Id, DeviceId);
}
