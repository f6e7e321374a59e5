using Self.Network.Storage;

namespace Self.Network.Tests.Storage;

/// <summary>One backend's stores, sharing one database, as the contract tests see them.</summary>
public sealed record StorageBackend(
    IIdentityStore Identities,
    IDeviceStore Devices,
    IOneTimeKeyStore OneTimeKeys,
    IConnectionStore Connections,
    IInboxStore Inboxes,
    Func<ValueTask> Dispose);

/// <summary>
/// The base of every storage contract: creates a fresh backend per test (xunit makes one instance per test)
/// and disposes it afterwards. A backend's tests inherit the contracts and say how to build it.
/// </summary>
public abstract class StorageContract : IAsyncLifetime
{
    private StorageBackend? _backend;

    protected StorageBackend Backend => _backend ?? throw new InvalidOperationException("The backend is not created yet.");

    public async Task InitializeAsync() => _backend = await CreateBackendAsync();

    public async Task DisposeAsync()
    {
        if (_backend is not null)
        {
            await _backend.Dispose();
        }
    }

    /// <summary>Builds an empty backend.</summary>
    protected abstract Task<StorageBackend> CreateBackendAsync();

    protected static string NewUserId() => Random.Shared.NextInt64(10_000_000_000, 99_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);

    protected static IdentityRecord User(string id) => new(id, IdentityType.Individual, null, null, DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
}
