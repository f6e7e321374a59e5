using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Self.Crypto.Olm;

namespace Self.Crypto.Bench;

/// <summary>
/// One Olm message, encrypted and decrypted. The plaintext is 56 bytes: what Olm carries in the protocol
/// (the envelope's body key and nonce).
/// </summary>
[MemoryDiagnoser]
public class OlmBenchmarks
{
    private readonly byte[] _plaintext = RandomNumberGenerator.GetBytes(56);
    private OlmAccount _alice = null!;
    private OlmAccount _bob = null!;
    private string _bobIdentityKey = null!;
    private string _bobOneTimeKey = null!;
    private OlmSession _aliceSession = null!;
    private OlmSession _bobSession = null!;

    [GlobalSetup]
    public void Setup()
    {
        _alice = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        _bob = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        _bob.GenerateOneTimeKeys(1);
        _bobIdentityKey = _bob.IdentityKeys.Curve25519;
        _bobOneTimeKey = _bob.GetUnpublishedOneTimeKeys()[0].Key;

        _aliceSession = OlmSession.CreateOutbound(_alice, _bobIdentityKey, _bobOneTimeKey);
        var first = _aliceSession.Encrypt(_plaintext);
        _bobSession = OlmSession.CreateInbound(_bob, first.Body);
        _bobSession.Decrypt(first);
        _aliceSession.Decrypt(_bobSession.Encrypt(_plaintext));
    }

    /// <summary>Outbound session, pre-key message, inbound session from it, decrypt (the one-time key is kept, so it can be reused).</summary>
    [Benchmark]
    public byte[] NewSession_EncryptDecrypt()
    {
        var outbound = OlmSession.CreateOutbound(_alice, _bobIdentityKey, _bobOneTimeKey);
        var message = outbound.Encrypt(_plaintext);
        var inbound = OlmSession.CreateInbound(_bob, message.Body);
        return inbound.Decrypt(message);
    }

    /// <summary>A normal message on an established session, same direction as the last one (chain step only).</summary>
    [Benchmark]
    public byte[] EstablishedSession_EncryptDecrypt() => _bobSession.Decrypt(_aliceSession.Encrypt(_plaintext));

    /// <summary>A message each way: every message starts a new ratchet step (one X25519 per side, one HKDF).</summary>
    [Benchmark]
    public byte[] EstablishedSession_RoundTripWithRatchetSteps()
    {
        _bobSession.Decrypt(_aliceSession.Encrypt(_plaintext));
        return _aliceSession.Decrypt(_bobSession.Encrypt(_plaintext));
    }
}
