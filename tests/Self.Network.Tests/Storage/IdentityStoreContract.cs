using Self.Network.Storage;
using Self.Protocol.Keys;

namespace Self.Network.Tests.Storage;

/// <summary>What every <see cref="IIdentityStore"/> must do.</summary>
public abstract class IdentityStoreContract : StorageContract
{
    [Fact]
    public async Task CreateAsync_NewId_StoresIdentityHistoryAndDevices()
    {
        var id = NewUserId();
        var app = new IdentityRecord(id, IdentityType.App, "Shop", "https://example.test/logo.png", DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_123));

        var result = await Backend.Identities.CreateAsync(app, ["op0", "op1"], ["1", "2"]);

        Assert.Equal(CreateIdentityResult.Created, result);
        Assert.Equal(app, await Backend.Identities.GetAsync(id));
        Assert.Equal(["op0", "op1"], await Backend.Identities.GetHistoryAsync(id));
        Assert.Equal(["1", "2"], await Backend.Devices.ListActiveAsync(id));
    }

    [Fact]
    public async Task CreateAsync_TakenId_ReturnsIdTakenAndKeepsTheFirst()
    {
        var id = NewUserId();
        await Backend.Identities.CreateAsync(User(id), ["first"], ["1"]);

        var result = await Backend.Identities.CreateAsync(User(id) with { Name = "second" }, ["second"], ["2"]);

        Assert.Equal(CreateIdentityResult.IdTaken, result);
        Assert.Null((await Backend.Identities.GetAsync(id))!.Name);
        Assert.Equal(["first"], await Backend.Identities.GetHistoryAsync(id));
        Assert.Equal(["1"], await Backend.Devices.ListActiveAsync(id));
    }

    [Fact]
    public async Task GetAsync_UnknownId_ReturnsNullAndEmptyHistory()
    {
        var id = NewUserId();

        Assert.Null(await Backend.Identities.GetAsync(id));
        Assert.Empty(await Backend.Identities.GetHistoryAsync(id));
    }

    [Fact]
    public async Task AppendHistoryAsync_NextSequence_AppendsAndAppliesDeviceChanges()
    {
        var id = NewUserId();
        await Backend.Identities.CreateAsync(User(id), ["op0"], ["1"]);
        await Backend.OneTimeKeys.AddAsync(id, "1", [new OneTimeKey("k", "v")], 10);

        var appended = await Backend.Identities.AppendHistoryAsync(id, new HistoryAppend(1, "op1", ["2"], ["1"]));

        Assert.True(appended);
        Assert.Equal(["op0", "op1"], await Backend.Identities.GetHistoryAsync(id));
        Assert.Equal(["2"], await Backend.Devices.ListActiveAsync(id));
        Assert.Equal(0, await Backend.OneTimeKeys.CountAsync(id, "1"));
    }

    [Fact]
    public async Task AppendHistoryAsync_DeviceKeyReplaced_DropsThatDevicesOneTimeKeysOnly()
    {
        var id = NewUserId();
        await Backend.Identities.CreateAsync(User(id), ["op0"], ["1", "2"]);
        await Backend.OneTimeKeys.AddAsync(id, "1", [new OneTimeKey("old", "made by the replaced key")], 10);
        await Backend.OneTimeKeys.AddAsync(id, "2", [new OneTimeKey("other", "untouched")], 10);

        // A rotation: device 1 gets a new current key and stays active.
        var appended = await Backend.Identities.AppendHistoryAsync(id, new HistoryAppend(1, "op1", ["1"], []));

        Assert.True(appended);
        Assert.Equal(["1", "2"], (await Backend.Devices.ListActiveAsync(id)).Order());
        Assert.Equal(0, await Backend.OneTimeKeys.CountAsync(id, "1"));
        Assert.Equal(1, await Backend.OneTimeKeys.CountAsync(id, "2"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public async Task AppendHistoryAsync_WrongSequence_ReturnsFalseAndChangesNothing(long sequence)
    {
        var id = NewUserId();
        await Backend.Identities.CreateAsync(User(id), ["op0"], ["1"]);

        var appended = await Backend.Identities.AppendHistoryAsync(id, new HistoryAppend(sequence, "opX", ["2"], ["1"]));

        Assert.False(appended);
        Assert.Equal(["op0"], await Backend.Identities.GetHistoryAsync(id));
        Assert.Equal(["1"], await Backend.Devices.ListActiveAsync(id));
    }

    [Fact]
    public async Task AppendHistoryAsync_UnknownIdentity_ReturnsFalse()
    {
        var id = NewUserId();

        Assert.False(await Backend.Identities.AppendHistoryAsync(id, new HistoryAppend(0, "op0", [], [])));
        Assert.Empty(await Backend.Identities.GetHistoryAsync(id));
    }

    [Fact]
    public async Task AppendHistoryAsync_RacingAppendsOfOneSequence_ExactlyOneWins()
    {
        var id = NewUserId();
        await Backend.Identities.CreateAsync(User(id), ["op0"], ["1"]);

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Backend.Identities.AppendHistoryAsync(id, new HistoryAppend(1, $"op1-{i}", [], [])).AsTask()));

        Assert.Equal(1, results.Count(static r => r));
        var history = await Backend.Identities.GetHistoryAsync(id);
        Assert.Equal(2, history.Count);
        Assert.Equal($"op1-{Array.IndexOf(results, true)}", history[1]);
    }
}
