using System.Text;
using System.Text.Json;
using Self.Crypto.Envelope;
using Self.Crypto.Olm;
using Self.Crypto.Tests.Olm;
using Self.Protocol.Identifiers;

namespace Self.Crypto.Tests.Envelope;

public sealed class GroupEnvelopeTests
{
    private static readonly Address Bob = Address.Parse("84099724068:1");
    private static readonly Address BobTablet = Address.Parse("84099724068:tablet");

    [Fact]
    public void Seal_OneRecipient_IsExactlyTheSpecifiedJson()
    {
        var (sender, receiver) = Sessions();
        var sealedEnvelope = GroupEnvelope.Seal("hello"u8, [new EnvelopeRecipient(Bob, sender)]);

        var parsed = GroupEnvelope.Parse(sealedEnvelope);
        var entry = parsed.Recipients[Bob.ToString()];
        var expected = $"{{\"recipients\":{{\"84099724068:1\":{{\"mtype\":0,\"ciphertext\":\"{entry.Body}\"}}}},\"ciphertext\":\"{Convert.ToBase64String(parsed.Ciphertext).TrimEnd('=')}\"}}";
        Assert.Equal(expected, Encoding.UTF8.GetString(sealedEnvelope));
        Assert.Equal(5 + 16, parsed.Ciphertext.Length);

        var keyAndNonce = OlmSession.CreateInbound(receiver, entry.Body).Decrypt(entry);
        Assert.Equal(GroupEnvelope.EntryPlaintextLength, keyAndNonce.Length);
        Assert.Equal("hello"u8.ToArray(), parsed.OpenBody(keyAndNonce));
    }

    [Fact]
    public void SealOpen_FiveRecipients_EachOpensItsOwnEntry()
    {
        var recipients = Enumerable.Range(0, 5).Select(i => (Address: new Address("84099724068", $"d{i}"), Pair: Sessions())).ToList();
        var plaintext = Encoding.UTF8.GetBytes(new string('j', 3000));

        var sealedEnvelope = GroupEnvelope.Seal(plaintext, recipients.Select(r => new EnvelopeRecipient(r.Address, r.Pair.Sender)));

        Assert.Equal(5, GroupEnvelope.Parse(sealedEnvelope).Recipients.Count);
        foreach (var (address, (_, receiver)) in recipients)
        {
            var opened = GroupEnvelope.Open(sealedEnvelope, address, entry => OlmSession.CreateInbound(receiver, entry.Body).Decrypt(entry));
            Assert.Equal(plaintext, opened);
        }
    }

    [Fact]
    public void Open_NoEntryForUs_ThrowsNoEntryForRecipient()
    {
        var (sender, _) = Sessions();
        var sealedEnvelope = GroupEnvelope.Seal("x"u8, [new EnvelopeRecipient(Bob, sender)]);
        var called = false;

        var e = Assert.Throws<EnvelopeException>(() => GroupEnvelope.Open(sealedEnvelope, BobTablet, _ =>
        {
            called = true;
            return [];
        }));
        Assert.Equal(CryptoErrorCodes.NoEntryForRecipient, e.ErrorCode);
        Assert.False(called);
    }

    [Fact]
    public void Open_EntryForAnotherDevice_OlmRefusesIt()
    {
        var (sender, _) = Sessions();
        var (_, otherReceiver) = Sessions();
        var sealedEnvelope = GroupEnvelope.Seal("x"u8, [new EnvelopeRecipient(Bob, sender)]);

        var e = Assert.Throws<OlmException>(() => GroupEnvelope.Open(sealedEnvelope, Bob, entry => OlmSession.CreateInbound(otherReceiver, entry.Body).Decrypt(entry)));
        Assert.Equal(CryptoErrorCodes.UnknownOneTimeKey, e.ErrorCode);
    }

    [Fact]
    public void Open_FlippedBitInBody_ThrowsBadEnvelopeBody()
    {
        var (sender, receiver) = Sessions();
        var parsed = GroupEnvelope.Parse(GroupEnvelope.Seal("hello world"u8, [new EnvelopeRecipient(Bob, sender)]));
        var entry = parsed.Recipients[Bob.ToString()];
        var body = parsed.Ciphertext.ToArray();
        body[3] ^= 0x04;
        var tampered = Encoding.UTF8.GetBytes(
            $"{{\"recipients\":{{\"{Bob}\":{{\"mtype\":0,\"ciphertext\":\"{entry.Body}\"}}}},\"ciphertext\":\"{Convert.ToBase64String(body)}\"}}");

        var e = Assert.Throws<EnvelopeException>(() => GroupEnvelope.Open(tampered, Bob, en => OlmSession.CreateInbound(receiver, en.Body).Decrypt(en)));
        Assert.Equal(CryptoErrorCodes.BadEnvelopeBody, e.ErrorCode);
    }

    [Fact]
    public void OpenBody_WrongLengthKey_ThrowsBadEnvelopeBody()
    {
        var (sender, _) = Sessions();
        var parsed = GroupEnvelope.Parse(GroupEnvelope.Seal("x"u8, [new EnvelopeRecipient(Bob, sender)]));
        Assert.Equal(CryptoErrorCodes.BadEnvelopeBody, Assert.Throws<EnvelopeException>(() => parsed.OpenBody(new byte[32])).ErrorCode);
        Assert.Equal(CryptoErrorCodes.BadEnvelopeBody, Assert.Throws<EnvelopeException>(() => parsed.OpenBody(new byte[56])).ErrorCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{\"recipients\":{}}")]
    [InlineData("{\"ciphertext\":\"AAAAAAAAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"recipients\":[],\"ciphertext\":\"AAAAAAAAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"recipients\":{},\"ciphertext\":\"not base64!\"}")]
    [InlineData("{\"recipients\":{},\"ciphertext\":\"AAAA\"}")]
    [InlineData("{\"recipients\":{\"a:1\":{\"mtype\":2,\"ciphertext\":\"AA\"}},\"ciphertext\":\"AAAAAAAAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"recipients\":{\"a:1\":{\"mtype\":\"0\",\"ciphertext\":\"AA\"}},\"ciphertext\":\"AAAAAAAAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"recipients\":{\"a:1\":{\"mtype\":0}},\"ciphertext\":\"AAAAAAAAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"recipients\":{\"a:1\":{\"mtype\":0,\"ciphertext\":\"AA\"},\"a:1\":{\"mtype\":1,\"ciphertext\":\"AA\"}},\"ciphertext\":\"AAAAAAAAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"recipients\":{},\"ciphertext\":\"AAAAAAAAAAAAAAAAAAAAAA\"} trailing")]
    public void Parse_NotTheSpecifiedJson_ThrowsBadEnvelope(string json)
    {
        var e = Assert.Throws<EnvelopeException>(() => GroupEnvelope.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Equal(CryptoErrorCodes.BadEnvelope, e.ErrorCode);
    }

    [Fact]
    public void Parse_TruncatedEnvelope_ThrowsBadEnvelope()
    {
        var (sender, _) = Sessions();
        var sealedEnvelope = GroupEnvelope.Seal("x"u8, [new EnvelopeRecipient(Bob, sender)]);
        for (var length = 0; length < sealedEnvelope.Length; length += 7)
        {
            Assert.Equal(CryptoErrorCodes.BadEnvelope, Assert.Throws<EnvelopeException>(() => GroupEnvelope.Parse(sealedEnvelope.AsSpan(0, length))).ErrorCode);
        }
    }

    [Fact]
    public void Parse_ExtraMembers_AreIgnored()
    {
        var json = "{\"v\":2,\"recipients\":{\"a:1\":{\"mtype\":1,\"ciphertext\":\"AA\",\"x\":true}},\"ciphertext\":\"AAAAAAAAAAAAAAAAAAAAAA\"}";
        var parsed = GroupEnvelope.Parse(Encoding.UTF8.GetBytes(json));
        Assert.Equal(new OlmMessage(OlmMessageType.Normal, "AA"), parsed.Recipients["a:1"]);
    }

    [Fact]
    public void Seal_InvalidRecipients_Throws()
    {
        var (sender, _) = Sessions();
        Assert.Throws<ArgumentException>(() => GroupEnvelope.Seal("x"u8, []));
        Assert.Throws<ArgumentException>(() => GroupEnvelope.Seal("x"u8, [new EnvelopeRecipient(Bob, sender), new EnvelopeRecipient(Bob, sender)]));
        Assert.Throws<ArgumentException>(() => GroupEnvelope.Seal("x"u8, [new EnvelopeRecipient(default, sender)]));
    }

    [Fact]
    public void Seal_SameSessionTwice_SecondEntryIsStillPreKeyAndBothOpen()
    {
        var (sender, receiver) = Sessions();
        var first = GroupEnvelope.Seal("one"u8, [new EnvelopeRecipient(Bob, sender)]);
        var second = GroupEnvelope.Seal("two"u8, [new EnvelopeRecipient(Bob, sender)]);
        OlmSession? session = null;

        Assert.Equal("one"u8.ToArray(), GroupEnvelope.Open(first, Bob, e => (session = OlmSession.CreateInbound(receiver, e.Body)).Decrypt(e)));
        Assert.Equal("two"u8.ToArray(), GroupEnvelope.Open(second, Bob, e =>
        {
            Assert.Equal(OlmMessageType.PreKey, e.Type);
            Assert.True(session!.MatchesInboundSession(e.Body));
            return session.Decrypt(e);
        }));
        using var json = JsonDocument.Parse(second);
        Assert.Equal(0, json.RootElement.GetProperty("recipients").GetProperty(Bob.ToString()).GetProperty("mtype").GetInt32());
    }

    private static (OlmSession Sender, OlmAccount Receiver) Sessions()
    {
        var sender = SessionPair.NewAccount();
        var receiver = SessionPair.NewAccount();
        return (OlmSession.CreateOutbound(sender, receiver.IdentityKeys.Curve25519, receiver.GetUnpublishedOneTimeKeys()[0].Key), receiver);
    }
}
