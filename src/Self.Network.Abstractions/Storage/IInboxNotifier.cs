namespace Self.Network.Storage;

/// <summary>
/// Tells the connection that serves an address that its inbox has grown. Delivery always reads the store, so a
/// notification carries no message and a lost or repeated one costs only a read. A multi-node backend
/// (e.g. NATS JetStream) would implement this over its own subscription.
/// </summary>
public interface IInboxNotifier
{
    /// <summary>Calls <paramref name="onAppended"/> with the new offset after each append to <paramref name="address"/>, until disposed.
    /// The callback runs on the appender's thread and must not block.</summary>
    IDisposable Subscribe(string address, Action<long> onAppended);

    /// <summary>Announces that <paramref name="address"/> received a message at <paramref name="offset"/>.</summary>
    void Publish(string address, long offset);
}
