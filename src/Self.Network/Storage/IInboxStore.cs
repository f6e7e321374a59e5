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
}
