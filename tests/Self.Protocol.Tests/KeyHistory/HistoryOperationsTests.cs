using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;

namespace Self.Protocol.Tests.KeyHistory;

public class HistoryOperationsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void CreateIdentity_DeviceAndRecovery_LoadsWithBothKeysActive()
    {
        var device = SigningKey.Generate();
        var recovery = SigningKey.Generate();

        var root = HistoryOperations.CreateIdentity(device, "1", recovery, T0);
        var graph = SignatureGraph.Load([root]);

        Assert.Equal(device.Kid, root.Header.Kid);
        Assert.Null(root.Header.Typ);
        Assert.Equal(device.Kid, graph.CurrentDeviceKey("1")!.Kid);
        Assert.Equal(device.PublicKey, graph.CurrentDeviceKey("1")!.PublicKey);
        Assert.Equal(recovery.Kid, graph.ActiveRecoveryKey!.Kid);
        Assert.Equal(T0.ToUnixTimeSeconds(), graph.LastTimestamp);
        Assert.Equal(1, graph.NextSequence);
    }

    [Fact]
    public void Lifecycle_AddRotateRevokeRecover_EachOperationAppends()
    {
        var phone = SigningKey.Generate();
        var recovery = SigningKey.Generate();
        var graph = SignatureGraph.Load([HistoryOperations.CreateIdentity(phone, "phone", recovery, T0)]);

        var laptop = SigningKey.Generate();
        graph = graph.Append(HistoryOperations.AddDevice(graph, phone, laptop, "laptop", T0.AddMinutes(1)));
        Assert.Equal(["phone", "laptop"], graph.ActiveDeviceIds);

        var laptop2 = SigningKey.Generate();
        graph = graph.Append(HistoryOperations.RotateDeviceKey(graph, laptop, "laptop", laptop2, T0.AddMinutes(2)));
        Assert.Equal(laptop2.Kid, graph.CurrentDeviceKey("laptop")!.Kid);
        Assert.Equal(T0.AddMinutes(2).ToUnixTimeSeconds(), graph.FindKey(laptop.Kid)!.Revoked);
        Assert.True(graph.IsValidAt(laptop.Kid, T0.AddMinutes(1)));
        Assert.False(graph.IsValidAt(laptop.Kid, T0.AddMinutes(2)));

        graph = graph.Append(HistoryOperations.RevokeDevice(graph, phone, "laptop", T0.AddMinutes(3)));
        Assert.Equal(["phone"], graph.ActiveDeviceIds);
        Assert.Null(graph.CurrentDeviceKey("laptop"));

        var newPhone = SigningKey.Generate();
        var newRecovery = SigningKey.Generate();
        graph = graph.Append(HistoryOperations.Recover(graph, recovery, newPhone, "phone", newRecovery, T0.AddMinutes(4)));
        Assert.Equal(newPhone.Kid, graph.CurrentDeviceKey("phone")!.Kid);
        Assert.Equal(newRecovery.Kid, graph.ActiveRecoveryKey!.Kid);
        Assert.All(new[] { phone, recovery, laptop, laptop2 }, k => Assert.False(graph.FindKey(k.Kid)!.IsActive));
        Assert.Equal(T0.AddMinutes(4).ToUnixTimeSeconds(), graph.FindKey(phone.Kid)!.Revoked);
        Assert.Equal(T0.AddMinutes(3).ToUnixTimeSeconds(), graph.FindKey(laptop2.Kid)!.Revoked);

        var reloaded = SignatureGraph.Load(graph.Operations);
        Assert.Equal(graph.Keys.Select(k => (k.Kid, k.Created, k.Revoked)), reloaded.Keys.Select(k => (k.Kid, k.Created, k.Revoked)));
    }

    [Fact]
    public void RotateDeviceKey_SignedByAnotherDevice_Appends()
    {
        var (graph, phone, _) = NewIdentity();
        var laptop = SigningKey.Generate();
        graph = graph.Append(HistoryOperations.AddDevice(graph, phone, laptop, "laptop", T0.AddSeconds(10)));

        var phone2 = SigningKey.Generate();
        graph = graph.Append(HistoryOperations.RotateDeviceKey(graph, laptop, "phone", phone2, T0.AddSeconds(20)));

        Assert.Equal(phone2.Kid, graph.CurrentDeviceKey("phone")!.Kid);
        Assert.True(graph.CurrentDeviceKey("laptop")!.IsActive);
    }

    [Fact]
    public void AddDevice_PublicKeyOnly_Appends()
    {
        var (graph, phone, _) = NewIdentity();
        var tablet = SigningKey.Generate("tablet-key");

        var op = HistoryOperations.AddDevice(graph, phone, tablet.Kid, tablet.PublicKey, "tablet", T0.AddSeconds(5));

        Assert.Equal(tablet.PublicKey, graph.Append(op).FindKey("tablet-key")!.PublicKey);
    }

    [Fact]
    public void AddDevice_SameSecondAsLastOperation_MovesTimestampForward()
    {
        var (graph, phone, _) = NewIdentity();

        var op = HistoryOperations.AddDevice(graph, phone, SigningKey.Generate(), "laptop", T0);
        var next = graph.Append(op);

        Assert.Equal(T0.ToUnixTimeSeconds() + 1, next.LastTimestamp);
    }

    [Fact]
    public void AddDevice_DeviceAlreadyHasKey_ThrowsMultipleActiveDeviceKeys()
    {
        var (graph, phone, _) = NewIdentity();

        var ex = Assert.Throws<HistoryValidationException>(() => HistoryOperations.AddDevice(graph, phone, SigningKey.Generate(), "phone", T0.AddSeconds(1)));
        Assert.Equal(HistoryRejection.MultipleActiveDeviceKeys, ex.Reason);
    }

    [Fact]
    public void AddDevice_ExistingKid_ThrowsDuplicateKeyId()
    {
        var (graph, phone, _) = NewIdentity();

        var ex = Assert.Throws<HistoryValidationException>(() => HistoryOperations.AddDevice(graph, phone, SigningKey.Generate(phone.Kid), "laptop", T0.AddSeconds(1)));
        Assert.Equal(HistoryRejection.DuplicateKeyId, ex.Reason);
    }

    [Fact]
    public void AddDevice_SignerNotInHistory_ThrowsUnknownSigningKey()
    {
        var (graph, _, _) = NewIdentity();

        var ex = Assert.Throws<HistoryValidationException>(() => HistoryOperations.AddDevice(graph, SigningKey.Generate(), SigningKey.Generate(), "laptop", T0.AddSeconds(1)));
        Assert.Equal(HistoryRejection.UnknownSigningKey, ex.Reason);
    }

    [Fact]
    public void AddDevice_SignerReusesKidWithOtherSecret_ThrowsInvalidSignature()
    {
        var (graph, phone, _) = NewIdentity();
        var impostor = SigningKey.Generate(phone.Kid);

        var ex = Assert.Throws<HistoryValidationException>(() => HistoryOperations.AddDevice(graph, impostor, SigningKey.Generate(), "laptop", T0.AddSeconds(1)));
        Assert.Equal(HistoryRejection.InvalidSignature, ex.Reason);
    }

    [Fact]
    public void AddDevice_SignedByRevokedDevice_ThrowsSigningKeyRevoked()
    {
        var (graph, phone, _) = NewIdentity();
        var laptop = SigningKey.Generate();
        graph = graph.Append(HistoryOperations.AddDevice(graph, phone, laptop, "laptop", T0.AddSeconds(1)));
        graph = graph.Append(HistoryOperations.RevokeDevice(graph, phone, "laptop", T0.AddSeconds(2)));

        var ex = Assert.Throws<HistoryValidationException>(() => HistoryOperations.AddDevice(graph, laptop, SigningKey.Generate(), "tablet", T0.AddSeconds(3)));
        Assert.Equal(HistoryRejection.SigningKeyRevoked, ex.Reason);
    }

    [Fact]
    public void Append_SameOperationTwice_ThrowsSequenceOutOfOrder()
    {
        var (graph, phone, _) = NewIdentity();
        var op = HistoryOperations.AddDevice(graph, phone, SigningKey.Generate(), "laptop", T0.AddSeconds(1));
        graph = graph.Append(op);

        var ex = Assert.Throws<HistoryValidationException>(() => graph.Append(op));
        Assert.Equal(HistoryRejection.SequenceOutOfOrder, ex.Reason);
        Assert.Equal(2, ex.Sequence);
    }

    [Fact]
    public void Recover_WithDeviceKeyInsteadOfRecoveryKey_ThrowsArgumentException()
    {
        var (graph, phone, _) = NewIdentity();
        Assert.Throws<ArgumentException>(() => HistoryOperations.Recover(graph, phone, SigningKey.Generate(), "phone", SigningKey.Generate(), T0.AddSeconds(1)));
    }

    [Fact]
    public void RotateDeviceKey_UnknownDevice_ThrowsArgumentException()
    {
        var (graph, phone, _) = NewIdentity();
        Assert.Throws<ArgumentException>(() => HistoryOperations.RotateDeviceKey(graph, phone, "nope", SigningKey.Generate(), T0.AddSeconds(1)));
        Assert.Throws<ArgumentException>(() => HistoryOperations.RevokeDevice(graph, phone, "nope", T0.AddSeconds(1)));
    }

    [Theory]
    [InlineData("a:b")]
    [InlineData("")]
    [InlineData("has space")]
    public void CreateIdentity_BadDeviceId_ThrowsArgumentException(string deviceId)
    {
        Assert.Throws<ArgumentException>(() => HistoryOperations.CreateIdentity(SigningKey.Generate(), deviceId, SigningKey.Generate(), T0));
    }

    [Fact]
    public void CreateIdentity_SameKidForBothKeys_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => HistoryOperations.CreateIdentity(SigningKey.Generate("k"), "1", SigningKey.Generate("k"), T0));
    }

    [Fact]
    public void Recover_AfterRecovery_OldRecoveryKeyCannotSignAgain()
    {
        var (graph, _, recovery) = NewIdentity();
        var newRecovery = SigningKey.Generate();
        graph = graph.Append(HistoryOperations.Recover(graph, recovery, SigningKey.Generate(), "phone", newRecovery, T0.AddSeconds(1)));

        Assert.Throws<ArgumentException>(() => HistoryOperations.Recover(graph, recovery, SigningKey.Generate(), "phone", SigningKey.Generate(), T0.AddSeconds(2)));
        graph = graph.Append(HistoryOperations.Recover(graph, newRecovery, SigningKey.Generate(), "phone", SigningKey.Generate(), T0.AddSeconds(2)));
        Assert.Equal(3, graph.NextSequence);
    }

    private static (SignatureGraph Graph, SigningKey Phone, SigningKey Recovery) NewIdentity()
    {
        var phone = SigningKey.Generate();
        var recovery = SigningKey.Generate();
        return (SignatureGraph.Load([HistoryOperations.CreateIdentity(phone, "phone", recovery, T0)]), phone, recovery);
    }
}
