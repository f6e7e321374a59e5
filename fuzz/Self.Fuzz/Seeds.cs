using System.Text;
using Self.Crypto.Envelope;
using Self.Crypto.Olm;
using Self.Protocol.Auth;
using Self.Protocol.Encoding;
using Self.Protocol.Frames;
using Self.Protocol.Identifiers;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;
using Self.Protocol.Links;

namespace Self.Fuzz;

/// <summary>Valid inputs for every target, made from code (deterministic keys and times): the fuzzers' seed corpus.</summary>
public static class Seeds
{
    private const string AppId = "f37e9ec4af9a32d8e9fdad497a8b8ab1";
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_795_858_340);

    /// <summary>The seeds of one target.</summary>
    public static IReadOnlyList<byte[]> For(string target) => target switch
    {
        "frames" => Frames(),
        "compact-jws" or "auth-token" => [Utf8(AuthToken.Create(Key("1"), AppId, new FixedTime(Now))), Utf8("eyJhbGciOiJFZERTQSIsImtpZCI6IjEifQ.e30.AA")],
        "flattened-jws" => [Utf8(FlattenedJws.Sign("{\"typ\":\"acl.permit\",\"iss\":\"84099724068\"}"u8, Key("1")).ToJson())],
        "key-history" => [Utf8(History())],
        "envelope" => [Envelope()],
        "olm-message" => OlmMessages(),
        "rest-body" => [Utf8("{\"history\":" + History() + ",\"id\":\"84099724068\"}"), Utf8(Root().ToJson()), Utf8("[{\"id\":\"AAAAZA\",\"key\":\"uP+CBI+9QQDzbBCsJivgzJs87h5ejUNk2gq+TZHKm1c\"}]")],
        "deep-link" => [Utf8(DeepLink.Build(new Uri("https://links.joinself.com"), new Uri("https://example.com/cb"), Root().ToJson()).AbsoluteUri)],
        "qr-payload" => [Utf8(Root().ToJson())],
        _ => throw new ArgumentException($"No target '{target}'.", nameof(target)),
    };

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static SigningKey Key(string kid, byte fill = 0)
    {
        var seed = new byte[32];
        seed.AsSpan().Fill(fill);
        return SigningKey.FromSeed(kid, seed);
    }

    private static FlattenedJws Root() => HistoryOperations.CreateIdentity(Key("device-1", 1), "1", Key("recovery", 2), Now.AddMinutes(-10));

    private static string History()
    {
        var root = Root();
        var graph = SignatureGraph.Load([root]);
        var add = HistoryOperations.AddDevice(graph, Key("device-1", 1), Key("device-2", 3), "2", Now.AddMinutes(-9));
        return "[" + root.ToJson() + "," + add.ToJson() + "]";
    }

    private static List<byte[]> Frames() =>
    [
        FrameCodec.Encode(new AuthFrame("auth-1", "token", "1", 7)),
        FrameCodec.Encode(new MessageFrame("m-1", MsgSubType.Unknown, AppId + ":1", "84099724068:1", 0, 0, "ciphertext"u8.ToArray(), 1, "identities.facts.query.req"u8.ToArray())),
        FrameCodec.Encode(NotificationFrame.Ack("m-1")),
        FrameCodec.Encode(NotificationFrame.Err("m-2", ErrType.ErrMessage, "rate limited")),
        FrameCodec.Encode(new WatchFrame("w-1", "84099724068:1", true)),
    ];

    private static (OlmAccount Alice, OlmAccount Bob, OlmSession Outbound, OlmMessage First) Pair()
    {
        var alice = OlmAccount.FromSeed(new byte[32]);
        var seed = new byte[32];
        seed[0] = 1;
        var bob = OlmAccount.FromSeed(seed);
        bob.GenerateOneTimeKeys(1);
        var outbound = OlmSession.CreateOutbound(alice, bob.Curve25519PublicKey, Base64Codec.Decode(bob.GetUnpublishedOneTimeKeys()[0].Key));
        return (alice, bob, outbound, outbound.Encrypt("hello"u8));
    }

    private static byte[] Envelope()
    {
        var (_, _, outbound, _) = Pair();
        return GroupEnvelope.Seal("{\"typ\":\"identities.facts.query.req\"}"u8, [new EnvelopeRecipient(Address.Parse("84099724068:1"), outbound)]);
    }

    private static List<byte[]> OlmMessages()
    {
        var (_, bob, outbound, first) = Pair();
        var inbound = OlmSession.CreateInbound(bob, first.Body);
        _ = inbound.Decrypt(first);
        var reply = inbound.Encrypt("reply"u8);
        _ = outbound.Decrypt(reply);
        var normal = outbound.Encrypt("normal"u8);
        return [[0, .. Encoding.UTF8.GetBytes(first.Body)], [1, .. Encoding.UTF8.GetBytes(normal.Body)]];
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
