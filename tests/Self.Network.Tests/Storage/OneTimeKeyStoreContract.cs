using Self.Network.Storage;
using Self.Protocol.Keys;

namespace Self.Network.Tests.Storage;

/// <summary>What every <see cref="IOneTimeKeyStore"/> must do.</summary>
public abstract class OneTimeKeyStoreContract : StorageContract
{
    [Fact]
    public async Task PopAsync_AfterAdd_ReturnsEachKeyOnceOldestFirstThenNull()
    {
        var id = NewUserId();
        await Backend.OneTimeKeys.AddAsync(id, "1", [new OneTimeKey("a", "A"), new OneTimeKey("b", "B")], 10);
        await Backend.OneTimeKeys.AddAsync(id, "1", [new OneTimeKey("c", "C")], 10);

        Assert.Equal(new OneTimeKey("a", "A"), await Backend.OneTimeKeys.PopAsync(id, "1"));
        Assert.Equal(new OneTimeKey("b", "B"), await Backend.OneTimeKeys.PopAsync(id, "1"));
        Assert.Equal(new OneTimeKey("c", "C"), await Backend.OneTimeKeys.PopAsync(id, "1"));
        Assert.Null(await Backend.OneTimeKeys.PopAsync(id, "1"));
    }

    [Fact]
    public async Task AddAsync_MoreThanMaxHeld_AddsNothingAndReturnsFalse()
    {
        var id = NewUserId();
        await Backend.OneTimeKeys.AddAsync(id, "1", Keys("old", 3), 5);

        var added = await Backend.OneTimeKeys.AddAsync(id, "1", Keys("new", 3), 5);

        Assert.False(added);
        Assert.Equal(3, await Backend.OneTimeKeys.CountAsync(id, "1"));
    }

    [Fact]
    public async Task AddAsync_UpToMaxHeld_AddsAll()
    {
        var id = NewUserId();

        Assert.True(await Backend.OneTimeKeys.AddAsync(id, "1", Keys("k", 5), 5));
        Assert.Equal(5, await Backend.OneTimeKeys.CountAsync(id, "1"));
    }

    [Fact]
    public async Task AddAsync_KeyIdAlreadyHeld_KeepsTheFirst()
    {
        var id = NewUserId();
        await Backend.OneTimeKeys.AddAsync(id, "1", [new OneTimeKey("a", "first")], 10);

        await Backend.OneTimeKeys.AddAsync(id, "1", [new OneTimeKey("a", "second"), new OneTimeKey("a", "third")], 10);

        Assert.Equal(1, await Backend.OneTimeKeys.CountAsync(id, "1"));
        Assert.Equal("first", (await Backend.OneTimeKeys.PopAsync(id, "1"))!.Key);
    }

    [Fact]
    public async Task PopAsync_ManyConcurrentCallers_HandEachKeyOutOnce()
    {
        var id = NewUserId();
        await Backend.OneTimeKeys.AddAsync(id, "1", Keys("k", 20), 100);

        var popped = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Task.Run(() => Backend.OneTimeKeys.PopAsync(id, "1").AsTask())));

        var keys = popped.Where(static k => k is not null).Select(static k => k!.Id).ToList();
        Assert.Equal(20, keys.Count);
        Assert.Equal(20, keys.Distinct().Count());
        Assert.Equal(0, await Backend.OneTimeKeys.CountAsync(id, "1"));
    }

    [Fact]
    public async Task PopAsync_OtherDevice_DoesNotSeeTheKeys()
    {
        var id = NewUserId();
        await Backend.OneTimeKeys.AddAsync(id, "1", [new OneTimeKey("a", "A")], 10);

        Assert.Null(await Backend.OneTimeKeys.PopAsync(id, "2"));
        Assert.Null(await Backend.OneTimeKeys.PopAsync(NewUserId(), "1"));
        Assert.Equal(1, await Backend.OneTimeKeys.CountAsync(id, "1"));
    }

    private static List<OneTimeKey> Keys(string prefix, int count) =>
        Enumerable.Range(0, count).Select(i => new OneTimeKey($"{prefix}{i}", $"key-{prefix}{i}")).ToList();
}
