using System.Text;
using System.Text.Json.Nodes;
using Self.Crypto.Envelope;
using Self.Crypto.Keys;
using Self.Crypto.Olm;
using Self.Protocol.Encoding;
using Self.Protocol.Frames;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;

namespace Self.Messaging.Tests.Infrastructure;

/// <summary>
/// A sender built from the raw pieces (real Olm, real envelope, real websocket) so that tests can send what a
/// correct endpoint never would: altered ciphertexts, wrong signatures, many fresh sessions.
/// </summary>
public sealed class RawSender : IAsyncDisposable
{
    private RawSender(TestIdentity identity, OlmAccount account, MessagingConnection connection, SelfRestClient rest)
    {
        Identity = identity;
        Account = account;
        Connection = connection;
        Rest = rest;
    }

    public TestIdentity Identity { get; }

    public OlmAccount Account { get; }

    internal MessagingConnection Connection { get; }

    internal SelfRestClient Rest { get; }

    public static async Task<RawSender> StartAsync(TestNetwork network, TestIdentity identity)
    {
        var connection = new MessagingConnection(
            new MessagingConnectionOptions
            {
                MessagingUri = network.MessagingUrl,
                IdentityId = identity.Id,
                DeviceId = identity.DeviceId,
                SigningKey = identity.DeviceKey,
            },
            (_, _) => ValueTask.CompletedTask);
        await connection.ConnectAsync();
        return new RawSender(identity, OlmAccount.FromSeed(identity.DeviceKey.Seed), connection, network.RestFor(identity));
    }

    /// <summary>A new outbound session to <paramref name="recipient"/> from its history and a popped one-time key.</summary>
    public async Task<OlmSession> NewSessionAsync(TestIdentity recipient)
    {
        var graph = SignatureGraph.Load(await Rest.GetHistoryAsync(recipient.Id));
        var identityKey = Curve25519Conversion.IdentityKeyFromEd25519(graph.CurrentDeviceKey(recipient.DeviceId)!.PublicKey);
        var preKey = await Rest.PopPreKeyAsync(recipient.Id, recipient.DeviceId);
        return OlmSession.CreateOutbound(Account, identityKey, preKey.Key);
    }

    public static byte[] Seal(OlmSession session, TestIdentity recipient, FlattenedJws message) =>
        GroupEnvelope.Seal(message.ToUtf8Bytes(), [new EnvelopeRecipient(recipient.Address, session)]);

    public Task SendAsync(TestIdentity recipient, byte[] envelope) =>
        Connection.SendAsync(new MessageFrame(
            Id: Guid.NewGuid().ToString(), Subtype: MsgSubType.Unknown, Sender: Identity.Address.ToString(),
            Recipient: recipient.Address.ToString(), Ciphertext: envelope));

    /// <summary>Flips one bit of the envelope's encrypted body.</summary>
    public static byte[] TamperBody(byte[] envelope)
    {
        var json = JsonNode.Parse(envelope)!.AsObject();
        json["ciphertext"] = Flip(json["ciphertext"]!.GetValue<string>());
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    /// <summary>Flips one bit of a recipient's Olm message (its MAC no longer holds).</summary>
    public static byte[] TamperEntry(byte[] envelope, TestIdentity recipient)
    {
        var json = JsonNode.Parse(envelope)!.AsObject();
        var entry = json["recipients"]![recipient.Address.ToString()]!.AsObject();
        entry["ciphertext"] = Flip(entry["ciphertext"]!.GetValue<string>());
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    private static string Flip(string base64)
    {
        var bytes = Base64Codec.Decode(base64);
        bytes[^1] ^= 0x01;
        return Base64Codec.EncodeStandard(bytes);
    }

    public async ValueTask DisposeAsync() => await Connection.DisposeAsync();
}
