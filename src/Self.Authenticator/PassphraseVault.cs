using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Geralt;

namespace Self.Authenticator;

/// <summary>
/// What the authenticator keeps beside the device: which identity it holds, on which network, and the Argon2id salt and
/// costs that turn the person's passphrase into the device's storage key. The key itself is never written anywhere:
/// without the passphrase the device folder cannot be opened.
/// </summary>
internal sealed class PassphraseVault
{
    public const string FileName = "authenticator.json";
    private const int KeyBytes = 64;

    private PassphraseVault(string directory, VaultSettings settings)
    {
        Directory = directory;
        Settings = settings;
    }

    public string Directory { get; }

    public VaultSettings Settings { get; private set; }

    public string DeviceDirectory => Path.Combine(Directory, "device");

    public string LocalFile => Path.Combine(Directory, "local.bin");

    public static string SettingsPath(string directory) => Path.Combine(directory, FileName);

    public static PassphraseVault? TryLoad(string directory)
    {
        var file = SettingsPath(directory);
        if (!File.Exists(file))
        {
            return null;
        }

        var settings = JsonSerializer.Deserialize(File.ReadAllText(file), VaultJson.Default.VaultSettings)
            ?? throw new InvalidDataException($"{file} is empty or damaged.");
        return new PassphraseVault(directory, settings);
    }

    /// <summary>A new vault's settings (a fresh salt); <see cref="Save"/> once the identity is registered.</summary>
    public static PassphraseVault Create(string directory, Uri server, int iterations, int memoryBytes) =>
        new(directory, new VaultSettings
        {
            Server = server.ToString(),
            Salt = Convert.ToBase64String(RandomNumberGenerator.GetBytes(Argon2id.SaltSize)),
            Iterations = iterations,
            MemoryBytes = memoryBytes,
        });

    /// <summary>Derives the keys from the passphrase: the device's storage key and the local store's key.</summary>
    public DerivedKeys Derive(string passphrase)
    {
        var output = new byte[KeyBytes];
        var password = Encoding.UTF8.GetBytes(passphrase);
        try
        {
            Argon2id.DeriveKey(output, password, Convert.FromBase64String(Settings.Salt), Settings.Iterations, Settings.MemoryBytes);
            return new DerivedKeys(Convert.ToBase64String(output, 0, 32), output[32..]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(password);
            CryptographicOperations.ZeroMemory(output.AsSpan(0, 32));
        }
    }

    public void Save(string selfId) => Write(Settings with { SelfId = selfId });

    /// <summary>Keeps the person's choice of <see cref="VaultSettings.VerifyBeforeAccept"/>.</summary>
    public void SaveVerifyBeforeAccept(bool verify) => Write(Settings with { VerifyBeforeAccept = verify });

    private void Write(VaultSettings settings)
    {
        Settings = settings;
        System.IO.Directory.CreateDirectory(Directory);
        SecretFiles.Write(SettingsPath(Directory), Encoding.UTF8.GetBytes(JsonSerializer.Serialize(Settings, VaultJson.Default.VaultSettings)));
    }
}

/// <summary>The keys a passphrase gives: never stored.</summary>
internal sealed record DerivedKeys(string StorageKey, byte[] LocalKey);

internal sealed record VaultSettings
{
    public int Version { get; init; } = 1;

    public string? SelfId { get; init; }

    public required string Server { get; init; }

    public string Kdf { get; init; } = "argon2id13";

    public required string Salt { get; init; }

    public required int Iterations { get; init; }

    public required int MemoryBytes { get; init; }

    /// <summary>Ask for the passphrase again before every Accept (user verification); off unless the person turns it on.</summary>
    public bool VerifyBeforeAccept { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(VaultSettings))]
[JsonSerializable(typeof(LocalState))]
internal sealed partial class VaultJson : JsonSerializerContext;

/// <summary>Writes files that hold secrets (or encrypted secrets) with mode 0600, atomically.</summary>
internal static class SecretFiles
{
    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, options))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }
}
