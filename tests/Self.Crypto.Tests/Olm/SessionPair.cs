using System.Security.Cryptography;
using Self.Crypto.Olm;

namespace Self.Crypto.Tests.Olm;

/// <summary>Two managed accounts and a session between them.</summary>
internal sealed class SessionPair
{
    private SessionPair(OlmAccount aliceAccount, OlmAccount bobAccount, OlmSession alice, OlmSession bob, OlmMessage firstMessage)
    {
        AliceAccount = aliceAccount;
        BobAccount = bobAccount;
        Alice = alice;
        Bob = bob;
        FirstMessage = firstMessage;
    }

    public OlmAccount AliceAccount { get; }

    public OlmAccount BobAccount { get; }

    /// <summary>The outbound side.</summary>
    public OlmSession Alice { get; }

    /// <summary>The inbound side; it has decrypted <see cref="FirstMessage"/>.</summary>
    public OlmSession Bob { get; }

    public OlmMessage FirstMessage { get; }

    public static OlmAccount NewAccount(int oneTimeKeys = 5)
    {
        var account = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        account.GenerateOneTimeKeys(oneTimeKeys);
        return account;
    }

    /// <summary>Alice starts a session to Bob and sends "first"; Bob creates the inbound session and reads it.</summary>
    public static SessionPair Create(bool replied = false)
    {
        var aliceAccount = NewAccount();
        var bobAccount = NewAccount();
        var alice = OlmSession.CreateOutbound(aliceAccount, bobAccount.IdentityKeys.Curve25519, bobAccount.GetUnpublishedOneTimeKeys()[0].Key);
        var first = alice.Encrypt("first"u8);
        var bob = OlmSession.CreateInbound(bobAccount, first.Body, aliceAccount.IdentityKeys.Curve25519);
        Assert.Equal("first"u8.ToArray(), bob.Decrypt(first));
        Assert.True(bobAccount.RemoveOneTimeKeys(bob));
        if (replied)
        {
            var reply = bob.Encrypt("reply"u8);
            Assert.Equal("reply"u8.ToArray(), alice.Decrypt(reply));
        }

        return new SessionPair(aliceAccount, bobAccount, alice, bob, first);
    }
}
