using Self.Network.Storage;

namespace Self.Network.Tests.Storage;

/// <summary>What every <see cref="IInboxStore"/> must do.</summary>
public abstract class InboxStoreContract : StorageContract
{
    [Fact]
    public async Task AppendAsync_TwoInboxes_OffsetsIncreasePerInbox()
    {
        var a = NewUserId() + ":1";
        var b = NewUserId() + ":1";

        var a1 = await Backend.Inboxes.AppendAsync(a, 10, new byte[] { 1 });
        var b1 = await Backend.Inboxes.AppendAsync(b, 11, new byte[] { 2 });
        var a2 = await Backend.Inboxes.AppendAsync(a, 12, new byte[] { 3 });

        Assert.True(a2 > a1);
        Assert.Equal([a1, a2], (await Backend.Inboxes.ReadAsync(a, 0, 10)).Select(static m => m.Offset));
        Assert.Equal([b1], (await Backend.Inboxes.ReadAsync(b, 0, 10)).Select(static m => m.Offset));
    }

    [Fact]
    public async Task ReadAsync_AfterOffset_ReturnsLaterMessagesOldestFirstUpToMax()
    {
        var inbox = NewUserId() + ":1";
        var offsets = new List<long>();
        for (byte i = 0; i < 5; i++)
        {
            offsets.Add(await Backend.Inboxes.AppendAsync(inbox, 100 + i, new[] { i }));
        }

        var read = await Backend.Inboxes.ReadAsync(inbox, offsets[1], 2);

        Assert.Equal(2, read.Count);
        Assert.Equal(new InboxMessage(offsets[2], 102, new byte[] { 2 }).Offset, read[0].Offset);
        Assert.Equal(102, read[0].Timestamp);
        Assert.Equal(new byte[] { 2 }, read[0].Frame.ToArray());
        Assert.Equal(offsets[3], read[1].Offset);
        Assert.Empty(await Backend.Inboxes.ReadAsync(inbox, offsets[4], 10));
    }

    [Fact]
    public async Task RemoveThroughAsync_ThenAppend_OffsetsAreNeverReused()
    {
        var inbox = NewUserId() + ":1";
        await Backend.Inboxes.AppendAsync(inbox, 1, new byte[] { 1 });
        var last = await Backend.Inboxes.AppendAsync(inbox, 2, new byte[] { 2 });

        Assert.Equal(2, await Backend.Inboxes.RemoveThroughAsync(inbox, last));
        Assert.Empty(await Backend.Inboxes.ReadAsync(inbox, 0, 10));

        var next = await Backend.Inboxes.AppendAsync(inbox, 3, new byte[] { 3 });
        Assert.True(next > last);
    }

    [Fact]
    public async Task RemoveThroughAsync_OtherInbox_IsUntouched()
    {
        var a = NewUserId() + ":1";
        var b = NewUserId() + ":2";
        var offset = await Backend.Inboxes.AppendAsync(a, 1, new byte[] { 1 });
        await Backend.Inboxes.AppendAsync(b, 1, new byte[] { 2 });

        await Backend.Inboxes.RemoveThroughAsync(a, offset);

        Assert.Single(await Backend.Inboxes.ReadAsync(b, 0, 10));
    }

    [Fact]
    public async Task PruneAsync_Timestamp_DropsOnlyOlderMessages()
    {
        var inbox = NewUserId() + ":1";
        await Backend.Inboxes.AppendAsync(inbox, 1_000, new byte[] { 1 });
        var kept = await Backend.Inboxes.AppendAsync(inbox, 2_000, new byte[] { 2 });

        var dropped = await Backend.Inboxes.PruneAsync(2_000);

        Assert.True(dropped >= 1);
        Assert.Equal([kept], (await Backend.Inboxes.ReadAsync(inbox, 0, 10)).Select(static m => m.Offset));
    }

    [Fact]
    public async Task AppendAsync_ManyConcurrentAppends_GetDistinctIncreasingOffsetsAllReadable()
    {
        var inbox = NewUserId() + ":1";

        var offsets = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            Task.Run(() => Backend.Inboxes.AppendAsync(inbox, i, BitConverter.GetBytes(i)).AsTask())));

        Assert.Equal(200, offsets.Distinct().Count());
        var read = await Backend.Inboxes.ReadAsync(inbox, 0, 1000);
        Assert.Equal(offsets.Order(), read.Select(static m => m.Offset));
        for (var i = 0; i < offsets.Length; i++)
        {
            Assert.Equal(BitConverter.GetBytes(i), read.Single(m => m.Offset == offsets[i]).Frame.ToArray());
        }
    }
}
