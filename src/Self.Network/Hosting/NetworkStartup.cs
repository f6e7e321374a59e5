using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Self.Network.Relay;
using Self.Network.Storage;

namespace Self.Network.Hosting;

/// <summary>Prepares the database and the admin token before the server takes requests, and says where they are.</summary>
internal sealed class NetworkStartup(
    SelfNetworkOptions options,
    IIdentityStore identities,
    IDeviceStore devices,
    IOneTimeKeyStore oneTimeKeys,
    IConnectionStore connections,
    IInboxStore inboxes,
    ITokenReplayStore tokenReplays,
    AdminTokenProvider adminToken,
    RelayHub hub,
    IHostApplicationLifetime lifetime,
    ILogger<NetworkStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Websockets never end on their own: close them as soon as the host starts stopping, so that Kestrel's
        // graceful shutdown does not wait for them.
        lifetime.ApplicationStopping.Register(() => _ = hub.CloseAllAsync());
        Log.DataDirectory(logger, Path.GetFullPath(options.DataDirectory));
        Log.Backends(logger, Describe(identities), Describe(inboxes));
        var stores = new object[] { identities, devices, oneTimeKeys, connections, inboxes, tokenReplays };
        foreach (var initializer in stores.OfType<IStorageInitializer>().Distinct())
        {
            await initializer.InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        switch (adminToken.Source)
        {
            case AdminTokenSource.Generated:
                Log.AdminTokenGenerated(logger, adminToken.FilePath);
                break;
            case AdminTokenSource.File:
                Log.AdminTokenLoaded(logger, adminToken.FilePath);
                break;
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>What an operator is told about a store: its own description, else its type.</summary>
    public static string Describe(object store) => store is IDescribedStore described ? described.Description : store.GetType().Name;
}
