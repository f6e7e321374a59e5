using Self.Cli.Home;
using Self.Sdk;

namespace Self.Cli.Commands;

/// <summary>Starts the SDK client of an app the command line created.</summary>
internal static class AppSessions
{
    /// <summary>
    /// Starts the client of <paramref name="app"/>; on <paramref name="server"/> when given, else where the app was
    /// created; as the app instance <paramref name="deviceId"/> when given, else as device 1.
    /// </summary>
    public static async Task<SelfClient> StartAsync(
        CliContext context, SelfHome home, AppProfile app, Uri? server, CancellationToken cancellationToken, string? deviceId = null)
    {
        var client = new SelfClient(new SelfClientOptions
        {
            AppId = app.AppId,
            AppSecret = app.Secret,
            StorageKey = app.StorageKey,
            StorageDirectory = home.AppStorageDirectory(app.AppId),
            ApiUrl = server ?? new Uri(app.Server),
            LoggerFactory = context.LoggerFactory,
            TimeProvider = context.TimeProvider,
            DeviceId = deviceId ?? "1",

            // A person is waiting at the terminal: say the network is down after a short while, not after minutes.
            MaxRetries = 2,
        });
        try
        {
            await client.StartAsync(cancellationToken).ConfigureAwait(false);

            // The store's SQLite files now exist: make them 0600 like the rest of the home.
            SelfHome.Secure(home.AppStorageDirectory(app.AppId));
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return client;
    }
}
