namespace Self.Network.Storage;

/// <summary>
/// The inbox of every address (<c>selfid:device</c>): an append-only log of Message frames with offsets that
/// strictly increase per inbox and are never reused, even after old messages are dropped.
/// </summary>
public interface IInboxStore
{
    /// <summary>
    /// Appends a message and returns its offset. The call completes only after the message is durably
    /// committed: the relay acknowledges a message on the strength of it.
    /// </summary>
    ValueTask<long> AppendAsync(string address, long timestamp, ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="maxCount"/> messages with an offset greater than <paramref name="afterOffset"/>, oldest first.</summary>
    ValueTask<IReadOnlyList<InboxMessage>> ReadAsync(string address, long afterOffset, int maxCount, CancellationToken cancellationToken = default);

    /// <summary>Drops the messages of one inbox up to and including <paramref name="offset"/> (the client has processed them).</summary>
    ValueTask<long> RemoveThroughAsync(string address, long offset, CancellationToken cancellationToken = default);

    /// <summary>Drops every message accepted before <paramref name="timestamp"/> (unix nanoseconds); returns how many.</summary>
    ValueTask<long> PruneAsync(long timestamp, CancellationToken cancellationToken = default);

    /// <summary>
    /// How many messages and bytes one inbox holds now, for the inbox caps; null when the backend cannot tell cheaply
    /// (then the caps are not enforced on it).
    /// </summary>
    ValueTask<InboxSize?> SizeAsync(string address, CancellationToken cancellationToken = default) => ValueTask.FromResult<InboxSize?>(null);

    /// <summary>What every inbox holds together, for the operator's metrics; null when the backend cannot tell cheaply.</summary>
    ValueTask<InboxTotals?> TotalsAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult<InboxTotals?>(null);
}

/// <summary>The contents of one inbox: undelivered messages and the bytes of their frames.</summary>
public readonly record struct InboxSize(long Messages, long Bytes);

/// <summary>The contents of every inbox: how many inboxes hold anything, messages and bytes in all, and the largest inbox.</summary>
public readonly record struct InboxTotals(long Inboxes, long Messages, long Bytes, long LargestMessages, long LargestBytes);
