using System.Security.Cryptography;
using System.Text;
using Self.Crypto.Keys;
using Self.Crypto.Olm;

namespace Self.Crypto.Tests.Interop;

/// <summary>The managed Olm against Debian's libolm 3: every session is started on one side and read on the other.</summary>
public sealed class OlmInteropTests
{
    [Fact]
    public void IdentityKey_FromSeed_EqualsLibsodiumConversionAndWhatLibolmComputes()
    {
        var seed = RandomNumberGenerator.GetBytes(32);
        var account = OlmAccount.FromSeed(seed);

        var edPublic = new byte[32];
        var edPrivate = new byte[64];
        Geralt.Ed25519.GenerateKeyPair(edPublic, edPrivate, seed);
        var sodiumPublic = new byte[32];
        var sodiumPrivate = new byte[32];
        Geralt.Ed25519.ComputeX25519PublicKey(sodiumPublic, edPublic);
        Geralt.Ed25519.ComputeX25519PrivateKey(sodiumPrivate, edPrivate);

        Assert.Equal(Convert.ToBase64String(sodiumPublic).TrimEnd('='), account.IdentityKeys.Curve25519);
        Assert.Equal(Convert.ToBase64String(edPublic).TrimEnd('='), account.IdentityKeys.Ed25519);
        Assert.Equal(sodiumPrivate, Curve25519Conversion.PrivateKeyFromEd25519Seed(seed));
        // libolm's curve25519-donna, given the derived private key, computes the same public key.
        Assert.Equal(account.IdentityKeys.Curve25519, LibOlm.Curve25519PublicFromPrivate(sodiumPrivate));
    }

    [Fact]
    public void OneTimeKeyIds_SameCountAsLibolm_SameIdsInSameOrder()
    {
        using var reference = LibOlmAccount.Create();
        reference.GenerateOneTimeKeys(12);
        var account = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        account.GenerateOneTimeKeys(12);

        var expected = reference.OneTimeKeys().Select(k => k.Id).ToList();
        Assert.Equal("AAAADA", expected[0]);
        Assert.Equal(expected, account.GetUnpublishedOneTimeKeys().Select(k => k.Id).ToList());
    }

    [Fact]
    public void ManagedOutbound_LibolmInbound_PreKeyThenNormalMessagesDecryptBothWays()
    {
        using var bobAccount = LibOlmAccount.Create();
        bobAccount.GenerateOneTimeKeys(1);
        var bobKey = bobAccount.OneTimeKeys().Single();
        var alice = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));

        var aliceSession = OlmSession.CreateOutbound(alice, bobAccount.IdentityKeys.Curve25519, bobKey.Key);
        var first = aliceSession.Encrypt("hello bob"u8);
        var second = aliceSession.Encrypt("still no reply"u8);
        Assert.Equal(OlmMessageType.PreKey, first.Type);
        Assert.Equal(OlmMessageType.PreKey, second.Type);

        using var bobSession = LibOlmSession.CreateInbound(bobAccount, first.Body);
        bobAccount.RemoveOneTimeKeys(bobSession);
        Assert.Equal(aliceSession.SessionId, bobSession.SessionId);
        Assert.True(bobSession.MatchesInboundSession(second.Body));
        Assert.Equal("hello bob"u8.ToArray(), bobSession.Decrypt(0, first.Body));
        Assert.Equal("still no reply"u8.ToArray(), bobSession.Decrypt(0, second.Body));

        var reply = bobSession.Encrypt("hello alice"u8.ToArray());
        Assert.Equal(1, reply.Type);
        Assert.Equal("hello alice"u8.ToArray(), aliceSession.Decrypt(OlmMessageType.Normal, reply.Body));

        var third = aliceSession.Encrypt("now normal"u8);
        Assert.Equal(OlmMessageType.Normal, third.Type);
        Assert.Equal("now normal"u8.ToArray(), bobSession.Decrypt(1, third.Body));
    }

    [Fact]
    public void LibolmOutbound_ManagedInbound_PreKeyThenNormalMessagesDecryptBothWays()
    {
        var bob = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        bob.GenerateOneTimeKeys(3);
        var bobKey = bob.GetUnpublishedOneTimeKeys()[1];
        bob.MarkKeysAsPublished();
        using var aliceAccount = LibOlmAccount.Create();

        using var aliceSession = LibOlmSession.CreateOutbound(aliceAccount, bob.IdentityKeys.Curve25519, bobKey.Key);
        var first = aliceSession.Encrypt("hello bob"u8.ToArray());
        Assert.Equal(0, first.Type);

        var bobSession = OlmSession.CreateInbound(bob, first.Body, aliceAccount.IdentityKeys.Curve25519);
        Assert.Equal(aliceSession.SessionId, bobSession.SessionId);
        Assert.True(bobSession.MatchesInboundSession(first.Body, aliceAccount.IdentityKeys.Curve25519));
        Assert.Equal("hello bob"u8.ToArray(), bobSession.Decrypt(OlmMessageType.PreKey, first.Body));
        Assert.True(bob.RemoveOneTimeKeys(bobSession));
        Assert.Equal(2, bob.UnusedOneTimeKeyCount);

        var reply = bobSession.Encrypt("hello alice"u8);
        Assert.Equal(OlmMessageType.Normal, reply.Type);
        Assert.Equal("hello alice"u8.ToArray(), aliceSession.Decrypt(1, reply.Body));
        var next = aliceSession.Encrypt("normal now"u8.ToArray());
        Assert.Equal(1, next.Type);
        Assert.Equal("normal now"u8.ToArray(), bobSession.Decrypt(OlmMessageType.Normal, next.Body));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Conversation_1000MessagesAlternatingDirection_AllDecryptExactly(bool managedStarts)
    {
        var (managed, reference) = Establish(managedStarts);
        var random = new Random(managedStarts ? 1 : 2);
        var sent = 0;
        var managedTurn = !managedStarts;
        while (sent < 1000)
        {
            // Runs of 1–3 messages per side, so both chain steps and ratchet steps happen.
            var run = random.Next(1, 4);
            for (var i = 0; i < run; i++, sent++)
            {
                var plaintext = Encoding.UTF8.GetBytes($"message {sent} {new string('x', random.Next(0, 200))}");
                if (managedTurn)
                {
                    var message = managed.Encrypt(plaintext);
                    Assert.Equal(plaintext, reference.Decrypt((int)message.Type, message.Body));
                }
                else
                {
                    var (type, body) = reference.Encrypt(plaintext);
                    Assert.Equal(OlmMessageType.Normal, (OlmMessageType)type);
                    Assert.Equal(plaintext, managed.Decrypt((OlmMessageType)type, body));
                }
            }

            managedTurn = !managedTurn;
        }

        reference.Dispose();
    }

    [Fact]
    public void OutOfOrder_LibolmToManaged_WithinBound_AllDecrypt()
    {
        var (managed, reference) = Establish(managedStarts: true);
        using (reference)
        {
            var messages = Enumerable.Range(0, 35).Select(i => (i, reference.Encrypt(Encoding.UTF8.GetBytes($"m{i}")))).ToList();
            foreach (var (i, (type, body)) in messages.OrderBy(m => (m.i * 7919) % 35))
            {
                Assert.Equal(Encoding.UTF8.GetBytes($"m{i}"), managed.Decrypt((OlmMessageType)type, body));
            }

            // And across a ratchet step: a reply, then the other side's next chain arriving out of order.
            var reply = managed.Encrypt("ack"u8);
            Assert.Equal("ack"u8.ToArray(), reference.Decrypt((int)reply.Type, reply.Body));
            var later = Enumerable.Range(0, 10).Select(i => reference.Encrypt(Encoding.UTF8.GetBytes($"n{i}"))).ToList();
            for (var i = later.Count - 1; i >= 0; i--)
            {
                Assert.Equal(Encoding.UTF8.GetBytes($"n{i}"), managed.Decrypt((OlmMessageType)later[i].Type, later[i].Body));
            }
        }
    }

    [Fact]
    public void OutOfOrder_ManagedToLibolm_WithinBound_AllDecrypt()
    {
        var (managed, reference) = Establish(managedStarts: false);
        using (reference)
        {
            var messages = Enumerable.Range(0, 35).Select(i => (i, managed.Encrypt(Encoding.UTF8.GetBytes($"m{i}")))).ToList();
            foreach (var (i, message) in messages.OrderBy(m => (m.i * 7919) % 35))
            {
                Assert.Equal(Encoding.UTF8.GetBytes($"m{i}"), reference.Decrypt((int)message.Type, message.Body));
            }
        }
    }

    [Fact]
    public void LibolmSessionPickle_ImportedMidConversation_ContinuesWithLibolmPeer()
    {
        using var aliceAccount = LibOlmAccount.Create();
        using var bobAccount = LibOlmAccount.Create();
        bobAccount.GenerateOneTimeKeys(1);
        using var alice = LibOlmSession.CreateOutbound(aliceAccount, bobAccount.IdentityKeys.Curve25519, bobAccount.OneTimeKeys()[0].Key);
        var hello = alice.Encrypt("hello"u8.ToArray());
        using var bob = LibOlmSession.CreateInbound(bobAccount, hello.Body);
        bob.Decrypt(0, hello.Body);
        var reply = bob.Encrypt("reply"u8.ToArray());
        alice.Decrypt(reply.Type, reply.Body);
        var skipped = alice.Encrypt("skipped for now"u8.ToArray());
        var next = alice.Encrypt("arrives first"u8.ToArray());

        // Bob's libolm state moves into the managed session, with a pending out-of-order message.
        Assert.Equal("arrives first"u8.ToArray(), bob.Decrypt(next.Type, next.Body));
        var managedBob = OlmSession.FromLibolmPickle(bob.Pickle("pickle key"), "pickle key"u8);

        Assert.Equal(bob.SessionId, managedBob.SessionId);
        Assert.Equal("skipped for now"u8.ToArray(), managedBob.Decrypt((OlmMessageType)skipped.Type, skipped.Body));
        var answer = managedBob.Encrypt("answer from managed"u8);
        Assert.Equal("answer from managed"u8.ToArray(), alice.Decrypt((int)answer.Type, answer.Body));
        var more = alice.Encrypt("more"u8.ToArray());
        Assert.Equal("more"u8.ToArray(), managedBob.Decrypt((OlmMessageType)more.Type, more.Body));
    }

    [Fact]
    public void LibolmSessionPickle_WrongKey_ThrowsBadPickle()
    {
        var (_, reference) = Establish(managedStarts: true);
        using (reference)
        {
            var pickle = reference.Pickle("right key");
            var e = Assert.Throws<OlmException>(() => OlmSession.FromLibolmPickle(pickle, "wrong key"u8));
            Assert.Equal(CryptoErrorCodes.BadPickle, e.ErrorCode);
        }
    }

    [Fact]
    public void MatchesInboundSession_PreKeyOfAnotherLibolmSession_False()
    {
        var bob = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        bob.GenerateOneTimeKeys(2);
        var keys = bob.GetUnpublishedOneTimeKeys();
        using var aliceAccount = LibOlmAccount.Create();
        using var first = LibOlmSession.CreateOutbound(aliceAccount, bob.IdentityKeys.Curve25519, keys[0].Key);
        using var second = LibOlmSession.CreateOutbound(aliceAccount, bob.IdentityKeys.Curve25519, keys[1].Key);
        var firstMessage = first.Encrypt("1"u8.ToArray());
        var secondMessage = second.Encrypt("2"u8.ToArray());

        var bobSession = OlmSession.CreateInbound(bob, firstMessage.Body);
        Assert.True(bobSession.MatchesInboundSession(firstMessage.Body));
        Assert.False(bobSession.MatchesInboundSession(secondMessage.Body));
        Assert.False(bobSession.MatchesInboundSession(firstMessage.Body, bob.IdentityKeys.Curve25519));
    }

    /// <summary>A session pair, managed on one side and libolm on the other, past the pre-key phase.</summary>
    private static (OlmSession Managed, LibOlmSession Reference) Establish(bool managedStarts)
    {
        if (managedStarts)
        {
            var bobAccount = LibOlmAccount.Create();
            bobAccount.GenerateOneTimeKeys(1);
            var alice = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
            var managed = OlmSession.CreateOutbound(alice, bobAccount.IdentityKeys.Curve25519, bobAccount.OneTimeKeys()[0].Key);
            var hello = managed.Encrypt("hello"u8);
            var reference = LibOlmSession.CreateInbound(bobAccount, hello.Body);
            Assert.Equal("hello"u8.ToArray(), reference.Decrypt(0, hello.Body));
            bobAccount.Dispose();
            return (managed, reference);
        }
        else
        {
            var bob = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
            bob.GenerateOneTimeKeys(1);
            using var aliceAccount = LibOlmAccount.Create();
            var reference = LibOlmSession.CreateOutbound(aliceAccount, bob.IdentityKeys.Curve25519, bob.GetUnpublishedOneTimeKeys()[0].Key);
            var hello = reference.Encrypt("hello"u8.ToArray());
            var managed = OlmSession.CreateInbound(bob, hello.Body);
            Assert.Equal("hello"u8.ToArray(), managed.Decrypt(OlmMessageType.PreKey, hello.Body));
            return (managed, reference);
        }
    }
}
