using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Self.Cli.Home;

/// <summary>
/// The folder where the command line keeps what it creates (<c>SELF_HOME</c>, default <c>~/.self</c>): each app's
/// keys and each user's encrypted device store, plus which app and which user commands use by default (the last
/// created). Every folder of the home is mode 0700 and every file 0600 (the profiles hold secrets; the stores' SQLite
/// files, which SQLite creates with the process umask, are tightened as soon as the home sees them). See the README's
/// "What the self command keeps on disk" for what is encrypted by what.
/// </summary>
public sealed class SelfHome
{
    private const string DefaultAppFile = "default-app";
    private const string DefaultUserFile = "default-user";

    private const UnixFileMode PrivateFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Opens (and creates when missing) the home folder, and makes everything in it private to its owner.</summary>
    public SelfHome(string path)
    {
        Root = Path.GetFullPath(path);
        CreatePrivateDirectory(Root);
        Secure(Root);
    }

    /// <summary>The folder's full path.</summary>
    public string Root { get; }

    /// <summary>The home named by <c>SELF_HOME</c>, else <c>~/.self</c>.</summary>
    public static SelfHome FromEnvironment(Func<string, string?> getEnvironment)
    {
        var path = getEnvironment("SELF_HOME");
        if (string.IsNullOrWhiteSpace(path))
        {
            path = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".self");
        }

        return new SelfHome(path);
    }

    /// <summary>Where one app's encrypted client store lives (created, mode 0700).</summary>
    public string AppStorageDirectory(string appId) => CreatePrivateDirectory(Path.Combine(Root, "apps", appId, "store"));

    /// <summary>
    /// A fresh folder (mode 0700) for a new device's encrypted store. A user's Self ID is only known once the device has
    /// registered, so the store's folder is named before that and recorded in the <see cref="UserProfile"/>.
    /// </summary>
    public string NewDeviceStorageDirectory() => CreatePrivateDirectory(Path.Combine(Root, "devices", Guid.NewGuid().ToString("N")));

    /// <summary>
    /// Makes <paramref name="path"/> and everything under it private: folders 0700, files 0600 (the SQLite files of a
    /// store, its <c>-wal</c> and <c>-shm</c> included, are created with the process umask, usually 0644).
    /// Does nothing on Windows, where the profile folder's ACL already applies.
    /// </summary>
    public static void Secure(string path)
    {
        if (OperatingSystem.IsWindows() || !Directory.Exists(path))
        {
            return;
        }

        SetMode(path, PrivateFolder);
        foreach (var entry in Directory.EnumerateFileSystemEntries(path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }))
        {
            SetMode(entry, Directory.Exists(entry) ? PrivateFolder : PrivateFile);
        }
    }

    /// <summary>Keeps an app's profile and makes it the default app.</summary>
    public void SaveApp(AppProfile app)
    {
        WriteSecretFile(Path.Combine(Root, "apps", app.AppId, "app.json"), JsonSerializer.Serialize(app, HomeJson.Default.AppProfile));
        WriteSecretFile(Path.Combine(Root, DefaultAppFile), app.AppId);
    }

    /// <summary>Reads an app's profile; the default app when <paramref name="appId"/> is null.</summary>
    /// <exception cref="CliException">No such app here, or no default.</exception>
    public AppProfile LoadApp(string? appId)
    {
        appId ??= ReadDefault(DefaultAppFile)
            ?? throw new CliException($"No app is known in {Root}: create one with 'self app create --name NAME' or pass --app.");
        var file = Path.Combine(Root, "apps", appId, "app.json");
        if (!File.Exists(file))
        {
            throw new CliException($"App {appId} is not known in {Root}: its keys are kept only where 'self app create' ran.");
        }

        return JsonSerializer.Deserialize(File.ReadAllText(file), HomeJson.Default.AppProfile)
            ?? throw new CliException($"{file} is empty or damaged.");
    }

    /// <summary>Keeps a user's profile and makes it the default user.</summary>
    public void SaveUser(UserProfile user)
    {
        WriteSecretFile(Path.Combine(Root, "users", user.SelfId, "user.json"), JsonSerializer.Serialize(user, HomeJson.Default.UserProfile));
        WriteSecretFile(Path.Combine(Root, DefaultUserFile), user.SelfId);
        Secure(user.StorageDirectory);
    }

    /// <summary>Reads a user's profile; the default user when <paramref name="selfId"/> is null.</summary>
    /// <exception cref="CliException">No such user here, or no default.</exception>
    public UserProfile LoadUser(string? selfId)
    {
        selfId ??= ReadDefault(DefaultUserFile)
            ?? throw new CliException($"No user is known in {Root}: create one with 'self user create' or pass --user.");
        var file = Path.Combine(Root, "users", selfId, "user.json");
        if (!File.Exists(file))
        {
            throw new CliException($"User {selfId} is not known in {Root}: a user's device lives where 'self user create' ran.");
        }

        return JsonSerializer.Deserialize(File.ReadAllText(file), HomeJson.Default.UserProfile)
            ?? throw new CliException($"{file} is empty or damaged.");
    }

    /// <summary>Reads a user's profile, or null when this home does not know the user.</summary>
    public UserProfile? TryLoadUser(string selfId)
    {
        var file = Path.Combine(Root, "users", selfId, "user.json");
        return File.Exists(file) ? JsonSerializer.Deserialize(File.ReadAllText(file), HomeJson.Default.UserProfile) : null;
    }

    /// <summary>A fresh random storage key for a new store.</summary>
    public static string NewStorageKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private string? ReadDefault(string name)
    {
        var file = Path.Combine(Root, name);
        return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
    }

    /// <summary>Creates <paramref name="path"/> and any missing parent with mode 0700; returns the path.</summary>
    private static string CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else if (!Directory.Exists(path))
        {
            var parent = Path.GetDirectoryName(path);
            if (!string.IsNullOrEmpty(parent) && !Directory.Exists(parent))
            {
                CreatePrivateDirectory(parent);
            }

            Directory.CreateDirectory(path, PrivateFolder);
        }

        return path;
    }

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            if (File.GetUnixFileMode(path) != mode)
            {
                File.SetUnixFileMode(path, mode);
            }
        }
        catch (FileNotFoundException)
        {
            // Gone meanwhile (a -shm or temp file): nothing to protect.
        }
        catch (DirectoryNotFoundException)
        {
            // Likewise.
        }
    }

    private static void WriteSecretFile(string path, string content)
    {
        CreatePrivateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }
}

/// <summary>What the command line keeps of an app it created.</summary>
/// <param name="AppId">The app's id.</param>
/// <param name="Name">The app's name.</param>
/// <param name="Secret">The app's device key <c>kid:seed</c>.</param>
/// <param name="RecoverySecret">The app's recovery key.</param>
/// <param name="StorageKey">The key of the app's local encrypted store.</param>
/// <param name="Server">The network the app was created on.</param>
public sealed record AppProfile(string AppId, string Name, string Secret, string RecoverySecret, string StorageKey, string Server);

/// <summary>What the command line keeps of a user it created; the keys themselves are in the encrypted store.</summary>
/// <param name="SelfId">The user's Self ID.</param>
/// <param name="DeviceId">This device's id.</param>
/// <param name="StorageKey">The key of the device's encrypted store.</param>
/// <param name="Server">The network the user is registered on.</param>
/// <param name="StorageDirectory">The folder of the device's encrypted store.</param>
public sealed record UserProfile(string SelfId, string DeviceId, string StorageKey, string Server, string StorageDirectory);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(AppProfile))]
[JsonSerializable(typeof(UserProfile))]
internal sealed partial class HomeJson : JsonSerializerContext;
