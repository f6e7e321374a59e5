using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Self.Crypto.AtRest;
using Self.Messaging;
using Self.Protocol;
using Self.Protocol.Identifiers;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;

namespace Self.Sdk.Instances;

/// <summary>
/// The key of one instance of an app (docs/app-devices.md). Device <c>"1"</c> is the app key itself, as in gen-1.
/// Any other device id is an <i>app device</i>: on its first start the instance makes its own key, keeps it in an
/// encrypted file beside its store, and adds it to the app's key history with an operation signed by the app key;
/// the network then lets it connect as <c>appid:deviceid</c> beside the other instances instead of superseding them.
/// </summary>
internal static class AppDeviceKeys
{
    private const int MaxAttempts = 8;

    /// <summary>The file that holds the device key of <paramref name="address"/> (encrypted with the storage key, 0600).</summary>
    public static string FilePathFor(string storageDirectory, Address address) =>
        Path.Combine(storageDirectory, $"self-{address.Id}-{address.Device}.key");

    /// <summary>
    /// The signing key this instance connects and signs with: the app key for device <c>"1"</c>, otherwise the
    /// instance's own key, made and registered on first use.
    /// </summary>
    /// <exception cref="InvalidSecretKeyException">The network refused the app key, or the app does not exist.</exception>
    /// <exception cref="StorageKeyException">The storage key does not open the existing key file.</exception>
    public static async Task<SigningKey> EnsureAsync(
        SelfClientOptions options, SigningKey appKey, Uri apiUrl, ILogger logger, CancellationToken cancellationToken)
    {
        if (options.DeviceId == SelfIds.DefaultAppDevice)
        {
            return appKey;
        }

        var address = new Address(options.AppId, options.DeviceId);
        Directory.CreateDirectory(options.StorageDirectory);
        var path = FilePathFor(options.StorageDirectory, address);
        var key = await LoadAsync(path, address, options.StorageKey, cancellationToken).ConfigureAwait(false);
        if (key is null)
        {
            // Saved before it is registered: a crash in between leaves a key that the next start registers, never a
            // registered key that nobody holds.
            key = SigningKey.Generate();
            await SaveAsync(path, address, options.StorageKey, key, cancellationToken).ConfigureAwait(false);
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var rest = new SelfRestClient(
            http,
            new SelfRestClientOptions
            {
                BaseAddress = apiUrl,
                IdentityId = options.AppId,
                SigningKey = appKey,
                TimeProvider = options.TimeProvider,
                MaxRetries = options.MaxRetries,
            });
        if (await RegisterAsync(rest, options, appKey, key, logger, cancellationToken).ConfigureAwait(false))
        {
            await WaitUntilValidAsync(rest.ForIdentity(options.AppId, key), options, cancellationToken).ConfigureAwait(false);
        }

        return key;
    }

    /// <summary>
    /// A key counts from its operation's timestamp, in whole seconds, after every earlier operation: when several
    /// instances register in the same second, the later ones are valid a second or more after they were added, by the
    /// network's clock. Asked with a token of the new key until the network takes it.
    /// </summary>
    private static async Task WaitUntilValidAsync(SelfRestClient asDevice, SelfClientOptions options, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await asDevice.GetAppAsync(options.AppId, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (SelfApiException ex) when (ex.StatusCode is HttpStatusCode.Unauthorized && attempt < 60)
            {
                // Real time on purpose: what matters is the network's clock, not the client's (which tests may fake).
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Makes sure the history holds <paramref name="key"/> for the device; true when it had to add it.</summary>
    private static async Task<bool> RegisterAsync(
        SelfRestClient rest, SelfClientOptions options, SigningKey appKey, SigningKey key, ILogger logger, CancellationToken cancellationToken)
    {
        var apiUrl = options.ResolveApiUrl();
        for (var attempt = 1; ; attempt++)
        {
            SignatureGraph graph;
            try
            {
                graph = SignatureGraph.Load(await rest.GetHistoryAsync(options.AppId, cancellationToken).ConfigureAwait(false));
            }
            catch (SelfApiException ex) when (ex.StatusCode is HttpStatusCode.Unauthorized)
            {
                throw new InvalidSecretKeyException(options.AppId, ex.Message, ex);
            }
            catch (SelfApiException ex) when (ex.StatusCode is HttpStatusCode.NotFound)
            {
                throw new InvalidSecretKeyException(options.AppId, $"app {options.AppId} does not exist on {apiUrl}", ex);
            }

            var current = graph.CurrentDeviceKey(options.DeviceId);
            if (current is not null && current.Kid == key.Kid)
            {
                return false;
            }

            if (graph.Keys.Any(k => k.Kid == key.Kid))
            {
                throw new InvalidOperationException(
                    $"The key of app device {options.AppId}:{options.DeviceId} in {options.StorageDirectory} was revoked from the app's history; " +
                    "delete its .key file to register the instance again.");
            }

            var now = options.TimeProvider.GetUtcNow();
            // A device id that already has another key (its store was lost, or a second machine uses the same id)
            // is taken over: its old key is revoked. Device ids must therefore be unique per running instance.
            var operation = current is null
                ? HistoryOperations.AddDevice(graph, appKey, key, options.DeviceId, now)
                : HistoryOperations.RotateDeviceKey(graph, appKey, options.DeviceId, key, now);
            try
            {
                await rest.AppendHistoryAsync(operation, cancellationToken).ConfigureAwait(false);
                Log.AppDeviceRegistered(logger, options.AppId, options.DeviceId, current is not null);
                return true;
            }
            catch (SelfApiException ex) when (ex.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.BadRequest && attempt < MaxAttempts)
            {
                // Another instance appended first (same sequence or timestamp): read the history again and rebuild.
                Log.AppDeviceRetry(logger, options.AppId, options.DeviceId, ex.Message);
                // Real time: the other instances progress in real time, whatever clock this client was given.
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task<SigningKey?> LoadAsync(string path, Address address, string storageKey, CancellationToken cancellationToken)
    {
        byte[] blob;
        try
        {
            blob = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        using var cipher = AtRestCipher.FromStorageKey(storageKey);
        byte[] plain;
        try
        {
            plain = cipher.Decrypt(blob, Context(address));
        }
        catch (AtRestException ex)
        {
            throw new StorageKeyException($"The storage key does not open the device key file {path}.", ex);
        }

        try
        {
            return SigningKey.ParseSecret(Encoding.UTF8.GetString(plain));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    private static async Task SaveAsync(string path, Address address, string storageKey, SigningKey key, CancellationToken cancellationToken)
    {
        var plain = Encoding.UTF8.GetBytes(key.ToSecret());
        byte[] blob;
        using (var cipher = AtRestCipher.FromStorageKey(storageKey))
        {
            blob = cipher.Encrypt(plain, Context(address));
        }

        CryptographicOperations.ZeroMemory(plain);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var stream = new FileStream(path, options);
        await using (stream.ConfigureAwait(false))
        {
            await stream.WriteAsync(blob, cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }
    }

    private static byte[] Context(Address address) => Encoding.UTF8.GetBytes("app-device-key|" + address);
}
