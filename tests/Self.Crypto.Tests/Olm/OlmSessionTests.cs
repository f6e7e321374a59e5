using System.Text;
using Self.Crypto.Olm;

namespace Self.Crypto.Tests.Olm;

public sealed class OlmSessionTests
{
    [Fact]
    public void Encrypt_BeforeAnyReply_IsPreKeyAndAfterReplyIsNormal()
    {
        var pair = SessionPair.Create();
        Assert.Equal(OlmMessageType.PreKey, pair.FirstMessage.Type);
        Assert.Equal(OlmMessageType.PreKey, pair.Alice.Encrypt("again"u8).Type);
        Assert.Equal(OlmMessageType.Normal, pair.Bob.NextMessageType);

        var reply = pair.Bob.Encrypt("reply"u8);
        Assert.Equal(OlmMessageType.Normal, reply.Type);
        pair.Alice.Decrypt(reply);
        Assert.Equal(OlmMessageType.Normal, pair.Alice.Encrypt("normal"u8).Type);
        Assert.Equal(pair.Alice.SessionId, pair.Bob.SessionId);
    }

    [Fact]
    public void Decrypt_PreKeyMessageOnExistingSession_DecryptsInnerMessage()
    {
        var pair = SessionPair.Create();
        var second = pair.Alice.Encrypt("second"u8);
        Assert.True(pair.Bob.MatchesInboundSession(second.Body));
        Assert.Equal("second"u8.ToArray(), pair.Bob.Decrypt(second));
    }

    [Fact]
    public void Decrypt_FlippedBitInMac_ThrowsBadMessageMacAndSessionStillWorks()
    {
        var pair = SessionPair.Create(replied: true);
        var message = pair.Alice.Encrypt("secret"u8);
        var bytes = Convert.FromBase64String(Pad(message.Body));
        bytes[^1] ^= 0x01;

        var e = Assert.Throws<OlmException>(() => pair.Bob.Decrypt(message with { Body = Convert.ToBase64String(bytes) }));
        Assert.Equal(CryptoErrorCodes.BadMessageMac, e.ErrorCode);
        Assert.Equal("secret"u8.ToArray(), pair.Bob.Decrypt(message));
    }

    [Fact]
    public void Decrypt_FlippedBitInCiphertext_ThrowsBadMessageMac()
    {
        var pair = SessionPair.Create(replied: true);
        var message = pair.Alice.Encrypt("secret"u8);
        var bytes = Convert.FromBase64String(Pad(message.Body));
        bytes[^12] ^= 0x80; // inside the AES ciphertext, before the 8-byte MAC

        var e = Assert.Throws<OlmException>(() => pair.Bob.Decrypt(message with { Body = Convert.ToBase64String(bytes) }));
        Assert.Equal(CryptoErrorCodes.BadMessageMac, e.ErrorCode);
        Assert.Equal("secret"u8.ToArray(), pair.Bob.Decrypt(message));
    }

    [Fact]
    public void Decrypt_EveryBitFlipped_NeverYieldsAPlaintext()
    {
        var pair = SessionPair.Create(replied: true);
        var message = pair.Alice.Encrypt("a message of some length to cover more blocks"u8);
        var original = Convert.FromBase64String(Pad(message.Body));
        for (var bit = 0; bit < original.Length * 8; bit++)
        {
            var bytes = (byte[])original.Clone();
            bytes[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.Throws<OlmException>(() => pair.Bob.Decrypt(message with { Body = Convert.ToBase64String(bytes) }));
        }

        Assert.Equal("a message of some length to cover more blocks"u8.ToArray(), pair.Bob.Decrypt(message));
    }

    [Fact]
    public void Decrypt_EveryTruncation_ThrowsOlmException()
    {
        var pair = SessionPair.Create();
        foreach (var message in new[] { pair.Alice.Encrypt("pre-key"u8), pair.Bob.Encrypt("normal"u8) })
        {
            var bytes = Convert.FromBase64String(Pad(message.Body));
            for (var length = 0; length < bytes.Length; length++)
            {
                var truncated = message with { Body = Convert.ToBase64String(bytes, 0, length) };
                var target = message.Type == OlmMessageType.PreKey ? pair.Bob : pair.Alice;
                var e = Assert.Throws<OlmException>(() => target.Decrypt(truncated));
                Assert.Contains(e.ErrorCode, new[] { CryptoErrorCodes.BadMessageFormat, CryptoErrorCodes.BadMessageMac, CryptoErrorCodes.BadMessageVersion });
            }
        }
    }

    [Fact]
    public void Decrypt_TruncatedMessage_ThrowsBadMessageFormat()
    {
        var pair = SessionPair.Create(replied: true);
        var bytes = Convert.FromBase64String(Pad(pair.Alice.Encrypt("hello"u8).Body));

        var e = Assert.Throws<OlmException>(() => pair.Bob.Decrypt(OlmMessageType.Normal, Convert.ToBase64String(bytes[..20])));
        Assert.Equal(CryptoErrorCodes.BadMessageFormat, e.ErrorCode);
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("A")]
    [InlineData("Awo g")]
    public void Decrypt_NonBase64_ThrowsInvalidBase64(string body)
    {
        var pair = SessionPair.Create();
        var e = Assert.Throws<OlmException>(() => pair.Bob.Decrypt(OlmMessageType.Normal, body));
        Assert.Equal(CryptoErrorCodes.InvalidBase64, e.ErrorCode);
        var inbound = Assert.Throws<OlmException>(() => OlmSession.CreateInbound(pair.BobAccount, body));
        Assert.Equal(CryptoErrorCodes.InvalidBase64, inbound.ErrorCode);
    }

    [Fact]
    public void Decrypt_WrongVersionByte_ThrowsBadMessageVersion()
    {
        var pair = SessionPair.Create(replied: true);
        var bytes = Convert.FromBase64String(Pad(pair.Alice.Encrypt("hello"u8).Body));
        bytes[0] = 2;

        var e = Assert.Throws<OlmException>(() => pair.Bob.Decrypt(OlmMessageType.Normal, Convert.ToBase64String(bytes)));
        Assert.Equal(CryptoErrorCodes.BadMessageVersion, e.ErrorCode);
    }

    [Fact]
    public void Decrypt_UnknownType_ThrowsBadMessageFormat()
    {
        var pair = SessionPair.Create();
        var e = Assert.Throws<OlmException>(() => pair.Bob.Decrypt((OlmMessageType)7, pair.FirstMessage.Body));
        Assert.Equal(CryptoErrorCodes.BadMessageFormat, e.ErrorCode);
    }

    [Fact]
    public void Decrypt_MessageForAnotherSession_ThrowsBadMessageMac()
    {
        var pair = SessionPair.Create(replied: true);
        var other = SessionPair.Create(replied: true);
        var message = other.Alice.Encrypt("for someone else"u8);

        var e = Assert.Throws<OlmException>(() => pair.Bob.Decrypt(message));
        Assert.Equal(CryptoErrorCodes.BadMessageMac, e.ErrorCode);
    }

    [Fact]
    public void CreateInbound_PreKeyMessageForAnotherAccount_ThrowsUnknownOneTimeKey()
    {
        var pair = SessionPair.Create();
        var stranger = SessionPair.NewAccount();

        var e = Assert.Throws<OlmException>(() => OlmSession.CreateInbound(stranger, pair.FirstMessage.Body));
        Assert.Equal(CryptoErrorCodes.UnknownOneTimeKey, e.ErrorCode);
    }

    [Fact]
    public void CreateInbound_ReplayAfterOneTimeKeyRemoved_ThrowsUnknownOneTimeKey()
    {
        var pair = SessionPair.Create();

        var e = Assert.Throws<OlmException>(() => OlmSession.CreateInbound(pair.BobAccount, pair.FirstMessage.Body));
        Assert.Equal(CryptoErrorCodes.UnknownOneTimeKey, e.ErrorCode);
    }

    [Fact]
    public void CreateInbound_ExpectedIdentityKeyDiffers_ThrowsIdentityKeyMismatch()
    {
        var aliceAccount = SessionPair.NewAccount();
        var bobAccount = SessionPair.NewAccount();
        var alice = OlmSession.CreateOutbound(aliceAccount, bobAccount.IdentityKeys.Curve25519, bobAccount.GetUnpublishedOneTimeKeys()[0].Key);
        var message = alice.Encrypt("hi"u8);

        var e = Assert.Throws<OlmException>(() => OlmSession.CreateInbound(bobAccount, message.Body, bobAccount.IdentityKeys.Curve25519));
        Assert.Equal(CryptoErrorCodes.IdentityKeyMismatch, e.ErrorCode);
        Assert.Equal(5, bobAccount.UnusedOneTimeKeyCount);
    }

    [Fact]
    public void CreateInbound_NormalMessageInsteadOfPreKey_ThrowsBadMessageFormat()
    {
        var pair = SessionPair.Create();
        var normal = pair.Bob.Encrypt("normal"u8);

        var e = Assert.Throws<OlmException>(() => OlmSession.CreateInbound(pair.AliceAccount, normal.Body));
        Assert.Equal(CryptoErrorCodes.BadMessageFormat, e.ErrorCode);
    }

    [Fact]
    public void CreateOutbound_KeyOfWrongLength_ThrowsBadKey()
    {
        var account = SessionPair.NewAccount();
        var e = Assert.Throws<OlmException>(() => OlmSession.CreateOutbound(account, "AAAA", account.IdentityKeys.Curve25519));
        Assert.Equal(CryptoErrorCodes.BadKey, e.ErrorCode);
    }

    [Fact]
    public void CreateOutbound_LowOrderPoint_ThrowsBadKey()
    {
        var account = SessionPair.NewAccount();
        var zero = Convert.ToBase64String(new byte[32]);
        var e = Assert.Throws<OlmException>(() => OlmSession.CreateOutbound(account, zero, zero));
        Assert.Equal(CryptoErrorCodes.BadKey, e.ErrorCode);
    }

    [Fact]
    public void Decrypt_ReplayOfNormalMessage_ThrowsUnknownMessageKey()
    {
        var pair = SessionPair.Create(replied: true);
        var message = pair.Alice.Encrypt("once"u8);
        Assert.Equal("once"u8.ToArray(), pair.Bob.Decrypt(message));

        var e = Assert.Throws<OlmException>(() => pair.Bob.Decrypt(message));
        Assert.Equal(CryptoErrorCodes.UnknownMessageKey, e.ErrorCode);
    }

    [Fact]
    public void Decrypt_OutOfOrderWithinBound_AllDecryptOnceAndReplaysFail()
    {
        var pair = SessionPair.Create(replied: true);
        var messages = Enumerable.Range(0, OlmSession.MaxSkippedMessageKeys).Select(i => pair.Alice.Encrypt(Encoding.UTF8.GetBytes($"m{i}"))).ToList();
        var order = Enumerable.Range(0, messages.Count).Reverse().ToList();

        foreach (var i in order)
        {
            Assert.Equal(Encoding.UTF8.GetBytes($"m{i}"), pair.Bob.Decrypt(messages[i]));
        }

        foreach (var i in order)
        {
            Assert.Equal(CryptoErrorCodes.UnknownMessageKey, Assert.Throws<OlmException>(() => pair.Bob.Decrypt(messages[i])).ErrorCode);
        }
    }

    [Fact]
    public void Decrypt_SkippedBeyondKeptKeys_OldestIsGoneNewerStillDecrypt()
    {
        var pair = SessionPair.Create(replied: true);
        var count = OlmSession.MaxSkippedMessageKeys + 5;
        var messages = Enumerable.Range(0, count + 1).Select(i => pair.Alice.Encrypt(Encoding.UTF8.GetBytes($"m{i}"))).ToList();

        Assert.Equal(Encoding.UTF8.GetBytes($"m{count}"), pair.Bob.Decrypt(messages[count]));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(CryptoErrorCodes.UnknownMessageKey, Assert.Throws<OlmException>(() => pair.Bob.Decrypt(messages[i])).ErrorCode);
        }

        for (var i = 5; i < count; i++)
        {
            Assert.Equal(Encoding.UTF8.GetBytes($"m{i}"), pair.Bob.Decrypt(messages[i]));
        }
    }

    [Fact]
    public void Decrypt_GapBeyondMaximum_ThrowsMessageGapTooLargeAndSessionIsUnchanged()
    {
        var pair = SessionPair.Create(replied: true);
        var messages = Enumerable.Range(0, OlmSession.MaxMessageGap + 2).Select(i => pair.Alice.Encrypt(Encoding.UTF8.GetBytes($"m{i}"))).ToList();

        var e = Assert.Throws<OlmException>(() => pair.Bob.Decrypt(messages[^1]));
        Assert.Equal(CryptoErrorCodes.MessageGapTooLarge, e.ErrorCode);

        // Nothing moved: a message within reach still decrypts, and after it the last one is within reach too.
        Assert.Equal("m1500"u8.ToArray(), pair.Bob.Decrypt(messages[1500]));
        Assert.Equal(Encoding.UTF8.GetBytes($"m{messages.Count - 1}"), pair.Bob.Decrypt(messages[^1]));
    }

    [Fact]
    public void Decrypt_GapAtMaximum_Decrypts()
    {
        var pair = SessionPair.Create(replied: true);
        OlmMessage last = default;
        for (var i = 0; i <= OlmSession.MaxMessageGap; i++)
        {
            last = pair.Alice.Encrypt(Encoding.UTF8.GetBytes($"m{i}"));
        }

        Assert.Equal(Encoding.UTF8.GetBytes($"m{OlmSession.MaxMessageGap}"), pair.Bob.Decrypt(last));
    }

    [Fact]
    public void Decrypt_ManyRatchetSteps_BothDirections()
    {
        var pair = SessionPair.Create();
        for (var i = 0; i < 50; i++)
        {
            var toAlice = pair.Bob.Encrypt(Encoding.UTF8.GetBytes($"b{i}"));
            Assert.Equal(Encoding.UTF8.GetBytes($"b{i}"), pair.Alice.Decrypt(toAlice));
            var toBob = pair.Alice.Encrypt(Encoding.UTF8.GetBytes($"a{i}"));
            Assert.Equal(Encoding.UTF8.GetBytes($"a{i}"), pair.Bob.Decrypt(toBob));
        }
    }

    [Fact]
    public void Decrypt_OldChainMessageAfterRatchetStep_StillDecryptsFromSkippedKeys()
    {
        var pair = SessionPair.Create(replied: true);
        var delayed = pair.Alice.Encrypt("delayed"u8);
        var sent = pair.Alice.Encrypt("sent"u8);
        Assert.Equal("sent"u8.ToArray(), pair.Bob.Decrypt(sent));
        pair.Alice.Decrypt(pair.Bob.Encrypt("reply"u8));
        Assert.Equal("new chain"u8.ToArray(), pair.Bob.Decrypt(pair.Alice.Encrypt("new chain"u8)));

        Assert.Equal("delayed"u8.ToArray(), pair.Bob.Decrypt(delayed));
    }

    [Fact]
    public void ExportImport_MidConversation_ContinuesOnBothSides()
    {
        var pair = SessionPair.Create(replied: true);
        var skipped = pair.Alice.Encrypt("skipped"u8);
        pair.Bob.Decrypt(pair.Alice.Encrypt("after skipped"u8));

        var bob = OlmSession.Import(pair.Bob.Export());
        var alice = OlmSession.Import(pair.Alice.Export());

        Assert.Equal(pair.Bob.SessionId, bob.SessionId);
        Assert.Equal(pair.Bob.Export(), bob.Export());
        Assert.Equal("skipped"u8.ToArray(), bob.Decrypt(skipped));
        Assert.Equal("to alice"u8.ToArray(), alice.Decrypt(bob.Encrypt("to alice"u8)));
        Assert.Equal("to bob"u8.ToArray(), bob.Decrypt(alice.Encrypt("to bob"u8)));
    }

    [Fact]
    public void ExportImport_FreshOutboundSession_StillSendsPreKeyMessages()
    {
        var alice = SessionPair.NewAccount();
        var bob = SessionPair.NewAccount();
        var session = OlmSession.Import(OlmSession.CreateOutbound(alice, bob.IdentityKeys.Curve25519, bob.GetUnpublishedOneTimeKeys()[0].Key).Export());

        var message = session.Encrypt("hi"u8);
        Assert.Equal(OlmMessageType.PreKey, message.Type);
        Assert.Equal("hi"u8.ToArray(), OlmSession.CreateInbound(bob, message.Body).Decrypt(message));
    }

    [Fact]
    public void Import_DamagedExport_ThrowsBadExport()
    {
        var exported = SessionPair.Create(replied: true).Bob.Export();

        Assert.Equal(CryptoErrorCodes.BadExport, Assert.Throws<OlmException>(() => OlmSession.Import(exported.AsSpan(0, exported.Length - 1))).ErrorCode);
        Assert.Equal(CryptoErrorCodes.BadExport, Assert.Throws<OlmException>(() => OlmSession.Import([.. exported, 0])).ErrorCode);
        Assert.Equal(CryptoErrorCodes.BadExport, Assert.Throws<OlmException>(() => OlmSession.Import([])).ErrorCode);
        var wrongVersion = (byte[])exported.Clone();
        wrongVersion[4] = 99;
        Assert.Equal(CryptoErrorCodes.BadExport, Assert.Throws<OlmException>(() => OlmSession.Import(wrongVersion)).ErrorCode);
        Assert.Equal(CryptoErrorCodes.BadExport, Assert.Throws<OlmException>(() => OlmSession.Import(SessionPair.NewAccount().Export())).ErrorCode);
    }

    [Fact]
    public void Encrypt_ConcurrentCallers_EveryMessageDecrypts()
    {
        var pair = SessionPair.Create(replied: true);
        // Fewer than the skipped-key bound, so any delivery order works.
        var messages = new OlmMessage[OlmSession.MaxSkippedMessageKeys - 1];
        Parallel.For(0, messages.Length, i => messages[i] = pair.Alice.Encrypt(BitConverter.GetBytes(i)));

        var seen = messages.Select(m => BitConverter.ToInt32(pair.Bob.Decrypt(m))).Order().ToList();
        Assert.Equal(Enumerable.Range(0, messages.Length), seen);
    }

    private static string Pad(string base64) => base64.PadRight((base64.Length + 3) / 4 * 4, '=');
}
