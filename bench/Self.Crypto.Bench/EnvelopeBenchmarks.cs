using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Self.Crypto.Envelope;
using Self.Crypto.Olm;
using Self.Protocol.Identifiers;

namespace Self.Crypto.Bench;

/// <summary>
/// The group envelope around a 600-byte message (about the size of a signed request) for 1 and 5 recipient
/// devices, on established sessions.
/// </summary>
[MemoryDiagnoser]
public class EnvelopeBenchmarks
{
    private readonly byte[] _plaintext = RandomNumberGenerator.GetBytes(600);
    private EnvelopeRecipient[] _recipients = [];
    private OlmSession[] _receivers = [];

    [Params(1, 5)]
    public int Recipients { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var sender = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        _recipients = new EnvelopeRecipient[Recipients];
        _receivers = new OlmSession[Recipients];
        for (var i = 0; i < Recipients; i++)
        {
            var device = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
            device.GenerateOneTimeKeys(1);
            var outbound = OlmSession.CreateOutbound(sender, device.IdentityKeys.Curve25519, device.GetUnpublishedOneTimeKeys()[0].Key);
            var first = outbound.Encrypt("hello"u8);
            var inbound = OlmSession.CreateInbound(device, first.Body);
            inbound.Decrypt(first);
            outbound.Decrypt(inbound.Encrypt("reply"u8));
            _recipients[i] = new EnvelopeRecipient(new Address("84099724068", $"device-{i}"), outbound);
            _receivers[i] = inbound;
        }
    }

    /// <summary>Encrypt the body once and one Olm entry per recipient; write the JSON.</summary>
    [Benchmark]
    public byte[] Seal() => GroupEnvelope.Seal(_plaintext, _recipients);

    /// <summary>Seal, then every recipient parses the envelope, decrypts its entry and the body.</summary>
    [Benchmark]
    public int SealThenOpenByEveryRecipient()
    {
        var envelope = GroupEnvelope.Seal(_plaintext, _recipients);
        var total = 0;
        for (var i = 0; i < _receivers.Length; i++)
        {
            var receiver = _receivers[i];
            total += GroupEnvelope.Open(envelope, _recipients[i].Address, receiver.Decrypt).Length;
        }

        return total;
    }
}
