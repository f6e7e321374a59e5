using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Self.Crypto.AtRest;
using Self.Messaging;
using Self.Protocol;

namespace Self.Device;

/// <summary>
/// The device's own secrets in its storage folder: which identity and device it is, its current key, the recovery key
/// (on the device that holds it) and a key change in flight. One file, encrypted as a whole under the storage key
/// (<see cref="AtRestCipher"/>, bound to this use), replaced atomically on every change and readable only by its owner.
/// </summary>
internal sealed class DeviceVault
{
    /// <summary>The vault's file name inside the storage folder.</summary>
    public const string FileName = "self-device.vault";

    private const int CurrentVersion = 1;
    private static ReadOnlySpan<byte> Context => "self.device.vault.v1"u8;

    private readonly string _storageKey;

    public DeviceVault(string directory, string storageKey)
    {
        Directory = Path.GetFullPath(directory);
        FilePath = Path.Combine(Directory, FileName);
        _storageKey = storageKey;
    }

    public string Directory { get; }

    public string FilePath { get; }

    public bool Exists => File.Exists(FilePath);

    /// <summary>The stored contents, or null when the folder holds no vault.</summary>
    /// <exception cref="StorageKeyException">The storage key does not open the vault.</exception>
    public async Task<VaultContents?> ReadAsync(CancellationToken cancellationToken)
    {
        byte[] blob;
        try
        {
            blob = await File.ReadAllBytesAsync(FilePath, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        byte[] json;
        using (var cipher = AtRestCipher.FromStorageKey(_storageKey))
        {
            try
            {
                json = cipher.Decrypt(blob, Context);
            }
            catch (AtRestException ex)
            {
                throw new StorageKeyException(
                    $"the storage key does not open the device in {Directory}: it is not the key the device was created with (or the file is damaged)", ex);
            }
        }

        try
        {
            var contents = JsonSerializer.Deserialize(json, VaultJsonContext.Default.VaultContents);
            if (contents is null || contents.Version != CurrentVersion || string.IsNullOrEmpty(contents.SelfId)
                || string.IsNullOrEmpty(contents.DeviceId) || string.IsNullOrEmpty(contents.DeviceKey))
            {
                throw new DeviceNotFoundException(Directory, $"The device file {FilePath} is not one this version understands.");
            }

            return contents;
        }
        catch (JsonException ex)
        {
            throw new DeviceNotFoundException(Directory, $"The device file {FilePath} is damaged: {ex.Message}");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json);
        }
    }

    /// <summary>Replaces the vault with <paramref name="contents"/>: a reader sees the old or the new file, never a mix.</summary>
    public async Task WriteAsync(VaultContents contents, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var json = JsonSerializer.SerializeToUtf8Bytes(contents with { Version = CurrentVersion }, VaultJsonContext.Default.VaultContents);
        byte[] blob;
        try
        {
            using var cipher = AtRestCipher.FromStorageKey(_storageKey);
            blob = cipher.Encrypt(json, Context);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json);
        }

        var temporary = FilePath + "." + Guid.NewGuid().ToString("N") + ".tmp";
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            Options = FileOptions.WriteThrough | FileOptions.Asynchronous,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            var stream = new FileStream(temporary, options);
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(blob, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, FilePath, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Removes the vault (used when a registration fails before the network knows the identity).</summary>
    public void Delete() => TryDelete(FilePath);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Nothing refers to a stray temporary file.
        }
    }
}

/// <summary>What the vault holds. Keys are written as <c>kid:seed</c> secrets.</summary>
internal sealed record VaultContents
{
    public int Version { get; init; } = 1;

    public required string SelfId { get; init; }

    public required string DeviceId { get; init; }

    /// <summary>The device's current key.</summary>
    public required string DeviceKey { get; init; }

    /// <summary>The identity's recovery key, on the device that holds it.</summary>
    public string? RecoveryKey { get; init; }

    /// <summary>A device key submitted to the history but not yet known to be accepted (a rotation in flight).</summary>
    public string? PendingDeviceKey { get; init; }

    // Keys never show through ToString.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("SelfId = ").Append(SelfId).Append(", DeviceId = ").Append(DeviceId);
        return true;
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VaultContents))]
internal sealed partial class VaultJsonContext : JsonSerializerContext;
