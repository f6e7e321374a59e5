using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Self.Network.Storage.Sqlite;

namespace Self.Network.Hosting;

/// <summary>Prepares the database and the admin token before the server takes requests, and says where they are.</summary>
internal sealed class NetworkStartup(
    SqliteDatabase database,
    AdminTokenProvider adminToken,
    ILogger<NetworkStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Log.DataDirectory(logger, Path.GetDirectoryName(database.Path)!);
        await database.InitializeAsync(cancellationToken).ConfigureAwait(false);
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
}
