using Self.Crypto.Olm;
using Self.Messaging;
using Self.Protocol.Identifiers;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;
using Self.Protocol.Messages;
using Self.Sdk;
using Self.Sdk.Apps;

namespace Self.EndToEnd.Tests.Infrastructure;

/// <summary>A user registered straight through REST (no device running): its key and a REST client acting as it.</summary>
internal sealed record RawUser(string SelfId, SigningKey DeviceKey, SelfRestClient Rest);

/// <summary>Fresh apps, users and clients on the fixture's network, so that tests never share identities.</summary>
public static class TestIdentities
{
    private static readonly HttpClient Http = new();

    /// <summary>Registers an app with the fixture's admin token.</summary>
    public static Task<CreatedApp> CreateAppAsync(NetworkFixture network, string name = "Test App") => network.CreateAppAsync(name);

    /// <summary>Options for a client of <paramref name="app"/> with its own fresh store.</summary>
    public static SelfClientOptions ClientOptions(NetworkFixture network, CreatedApp app, TempDirectory storage, TimeProvider? time = null) =>
        network.ClientOptions(app, storage, time);

    /// <summary>Creates an app and starts a client for it.</summary>
    public static async Task<(CreatedApp App, SelfClient Client)> StartClientAsync(
        NetworkFixture network, TempDirectory storage, TimeProvider? time = null, string name = "Test App")
    {
        var app = await CreateAppAsync(network, name);
        var client = new SelfClient(ClientOptions(network, app, storage, time));
        await client.StartAsync();
        return (app, client);
    }

    /// <summary>Registers a user (device "1") through REST only: no device answers for it.</summary>
    internal static Task<RawUser> RegisterRawUserAsync(NetworkFixture network) => RegisterRawUserAsync(network.ApiUrl);

    /// <summary>
    /// Registers a user (device "1") through REST only on the network at <paramref name="apiUrl"/>. With
    /// <paramref name="publishOneTimeKeys"/> false, whatever later runs the device publishes its own keys.
    /// <paramref name="createdAt"/> dates its root operation (now when null): its key is valid from then.
    /// </summary>
    internal static async Task<RawUser> RegisterRawUserAsync(Uri apiUrl, bool publishOneTimeKeys = true, DateTimeOffset? createdAt = null)
    {
        var deviceKey = SigningKey.Generate();
        var recoveryKey = SigningKey.Generate();
        var root = HistoryOperations.CreateIdentity(deviceKey, "1", recoveryKey, createdAt ?? DateTimeOffset.UtcNow);
        var anonymous = new SelfRestClient(Http, new SelfRestClientOptions { BaseAddress = apiUrl });
        var selfId = await anonymous.RegisterIdentityAsync(root);
        var rest = anonymous.ForIdentity(selfId, deviceKey);

        if (!publishOneTimeKeys)
        {
            return new RawUser(selfId, deviceKey, rest);
        }

        // One-time keys, so that apps can open Olm sessions to the device even though nothing ever runs it.
        var account = OlmAccount.FromSigningKey(deviceKey);
        account.GenerateOneTimeKeys(20);
        await rest.PublishPreKeysAsync("1", [.. account.GetUnpublishedOneTimeKeys().Select(k => new OneTimeKey(k.Id, k.Key))]);
        return new RawUser(selfId, deviceKey, rest);
    }

    /// <summary>Stores the user's permit for <paramref name="appId"/>, signed by the user's device key.</summary>
    internal static Task ConnectAsync(RawUser user, string appId)
    {
        var now = DateTimeOffset.UtcNow;
        var permit = SignedMessage.Sign(
            new AclClaims
            {
                Typ = MessageTypes.AclPermit,
                Iss = user.SelfId,
                Sub = user.SelfId,
                Iat = now,
                Exp = now.AddMinutes(5),
                Jti = Guid.NewGuid().ToString(),
                AclSource = appId,
                AclExp = now.AddYears(1),
            },
            user.DeviceKey);
        return user.Rest.PermitConnectionAsync(permit);
    }

    /// <summary>An 11-digit id that no one has registered.</summary>
    public static string UnregisteredSelfId() => "9" + Random.Shared.NextInt64(1_000_000_000, 9_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>True when <paramref name="id"/> is a Self ID; keeps the helper honest.</summary>
    public static bool IsSelfId(string id) => SelfIds.IsUserId(id);
}
