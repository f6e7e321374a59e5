namespace Self.Network.Storage;

/// <summary>
/// Implemented by stores whose backend wants preparing when the server starts (creating a schema, checking a
/// connection), so that a misconfigured backend fails at start rather than on the first request.
/// </summary>
public interface IStorageInitializer
{
    /// <summary>Prepares the backend; called once at start, must be idempotent.</summary>
    ValueTask InitializeAsync(CancellationToken cancellationToken = default);
}
