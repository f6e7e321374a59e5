using System.Security.Cryptography;
using System.Text.Json;
using Self.Crypto.Olm;
using Self.Protocol.Keys;

namespace Self.Crypto.Tests.Olm;

public sealed class OlmAccountTests
{
    [Theory]
    [InlineData(1u, "AAAAAQ")]
    [InlineData(10u, "AAAACg")]
    [InlineData(100u, "AAAAZA")]
    [InlineData(0x01020304u, "AQIDBA")]
    public void EncodeKeyId_Number_IsBigEndianStandardBase64(uint id, string expected) =>
        Assert.Equal(expected, OlmAccount.EncodeKeyId(id));

    [Fact]
    public void GenerateOneTimeKeys_Hundred_IdsRunFromHundredDownToOne()
    {
        var account = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        account.GenerateOneTimeKeys(OlmAccount.OneTimeKeyBatchSize);

        var keys = account.GetUnpublishedOneTimeKeys();
        Assert.Equal(100, keys.Count);
        Assert.Equal("AAAAZA", keys[0].Id);
        Assert.Equal("AAAAAQ", keys[^1].Id);
        Assert.All(keys, k => Assert.Equal(32, Convert.FromBase64String(k.Key + "=").Length));
        Assert.Equal(100, keys.Select(k => k.Key).Distinct().Count());
    }

    [Fact]
    public void GetUnpublishedOneTimeKeysJson_IsTheIdKeyArray()
    {
        var account = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        account.GenerateOneTimeKeys(2);

        using var json = JsonDocument.Parse(account.GetUnpublishedOneTimeKeysJson());
        var entries = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, entries.Count);
        Assert.Equal(["id", "key"], entries[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(account.GetUnpublishedOneTimeKeys().Select(k => (k.Id, k.Key)), entries.Select(e => (e.GetProperty("id").GetString()!, e.GetProperty("key").GetString()!)));
    }

    [Fact]
    public void MarkKeysAsPublished_ThenGenerateMore_OnlyNewKeysAreUnpublished()
    {
        var account = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        account.GenerateOneTimeKeys(3);
        Assert.Equal(3, account.MarkKeysAsPublished());
        Assert.Equal(0, account.MarkKeysAsPublished());
        account.GenerateOneTimeKeys(2);

        Assert.Equal(["AAAABQ", "AAAABA"], account.GetUnpublishedOneTimeKeys().Select(k => k.Id));
        Assert.Equal(5, account.UnusedOneTimeKeyCount);
        Assert.Equal(2, account.UnpublishedOneTimeKeyCount);
    }

    [Fact]
    public void NeedsReplenishment_FollowsTheThreshold()
    {
        var account = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        Assert.True(account.NeedsReplenishment);
        account.GenerateOneTimeKeys(OlmAccount.ReplenishThreshold);
        Assert.False(account.NeedsReplenishment);

        var sender = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        var key = account.GetUnpublishedOneTimeKeys()[0].Key;
        var message = OlmSession.CreateOutbound(sender, account.IdentityKeys.Curve25519, key).Encrypt("x"u8);
        var session = OlmSession.CreateInbound(account, message.Body);
        session.Decrypt(message);
        Assert.True(account.RemoveOneTimeKeys(session));

        Assert.Equal(OlmAccount.ReplenishThreshold - 1, account.UnusedOneTimeKeyCount);
        Assert.True(account.NeedsReplenishment);
    }

    [Fact]
    public void GenerateOneTimeKeys_BeyondMaximum_DropsOldestKeys()
    {
        var account = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        account.GenerateOneTimeKeys(OlmAccount.MaxOneTimeKeys);
        account.GenerateOneTimeKeys(5);

        var keys = account.GetUnpublishedOneTimeKeys();
        Assert.Equal(OlmAccount.MaxOneTimeKeys, keys.Count);
        Assert.Equal(OlmAccount.EncodeKeyId(OlmAccount.MaxOneTimeKeys + 5), keys[0].Id);
        Assert.Equal(OlmAccount.EncodeKeyId(6), keys[^1].Id);
    }

    [Fact]
    public void GenerateOneTimeKeys_InvalidCount_Throws()
    {
        var account = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        Assert.Throws<ArgumentOutOfRangeException>(() => account.GenerateOneTimeKeys(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => account.GenerateOneTimeKeys(OlmAccount.MaxOneTimeKeys + 1));
    }

    [Fact]
    public void FromSigningKey_SameKeysAsFromSeed_AndSignaturesVerifyWithTheDeviceKey()
    {
        var deviceKey = SigningKey.Generate("1");
        var account = OlmAccount.FromSigningKey(deviceKey);

        Assert.Equal(OlmAccount.FromSeed(deviceKey.Seed).IdentityKeys, account.IdentityKeys);
        Assert.Equal(deviceKey.PublicKey, account.Ed25519PublicKey.ToArray());
        var signature = account.Sign("signed"u8);
        Assert.True(Ed25519Verifier.Verify(deviceKey.PublicKey, "signed"u8, signature));
    }

    [Fact]
    public void FromSeed_WrongLength_Throws() =>
        Assert.Throws<ArgumentException>(() => OlmAccount.FromSeed(new byte[31]));

    [Fact]
    public void ExportImport_RoundTrip_KeepsKeysCounterAndPublishedState()
    {
        var account = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        account.GenerateOneTimeKeys(4);
        account.MarkKeysAsPublished();
        account.GenerateOneTimeKeys(2);

        var restored = OlmAccount.Import(account.Export());

        Assert.Equal(account.IdentityKeys, restored.IdentityKeys);
        Assert.Equal(account.Export(), restored.Export());
        Assert.Equal(account.GetUnpublishedOneTimeKeys(), restored.GetUnpublishedOneTimeKeys());
        restored.GenerateOneTimeKeys(1);
        Assert.Equal("AAAABw", restored.GetUnpublishedOneTimeKeys()[0].Id);

        // The restored account still holds the private halves: a session to a published key works.
        var sender = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        var message = OlmSession.CreateOutbound(sender, account.IdentityKeys.Curve25519, account.GetUnpublishedOneTimeKeys()[^1].Key).Encrypt("hi"u8);
        Assert.Equal("hi"u8.ToArray(), OlmSession.CreateInbound(restored, message.Body).Decrypt(message));
    }

    [Fact]
    public void Import_DamagedExport_ThrowsBadExport()
    {
        var account = OlmAccount.FromSeed(RandomNumberGenerator.GetBytes(32));
        account.GenerateOneTimeKeys(2);
        var exported = account.Export();

        Assert.Equal(CryptoErrorCodes.BadExport, Assert.Throws<OlmException>(() => OlmAccount.Import(exported.AsSpan(0, exported.Length - 3))).ErrorCode);
        Assert.Equal(CryptoErrorCodes.BadExport, Assert.Throws<OlmException>(() => OlmAccount.Import([.. exported, 1])).ErrorCode);
        Assert.Equal(CryptoErrorCodes.BadExport, Assert.Throws<OlmException>(() => OlmAccount.Import("SOLS"u8)).ErrorCode);
    }
}
