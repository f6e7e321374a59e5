using Self.Cli.Home;
using Self.EndToEnd.Tests.Infrastructure;

namespace Self.EndToEnd.Tests.Cli;

/// <summary>
/// Hole 7 of issue 10: the CLI home held secrets in files and SQLite stores created 0644 in folders 0755. Now every
/// folder of the home is 0700 and every file 0600, the stores' database files included.
/// </summary>
[Collection(NetworkCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class HomePermissionsTests(NetworkFixture network) : IDisposable
{
    private const UnixFileMode Folder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode File600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly CliRunner _cli = new();

    [Fact]
    public async Task AppUserAndAuthRequest_LeaveOnlyPrivateFoldersAndFiles_DatabasesIncluded()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var appId = await _cli.CreateAppAsync(network);
        var selfId = await _cli.CreateUserAsync(network);
        await _cli.ConnectAsync(selfId, appId);

        // Starts the app's SDK client, which creates its encrypted store.
        var request = await _cli.RunAsync("auth", "request", selfId, "--app", appId, "--expiry", "1s", "--json");
        Assert.True(request.ExitCode == 4, request.ToString());

        var entries = Directory.EnumerateFileSystemEntries(_cli.HomePath, "*", SearchOption.AllDirectories).ToList();
        Assert.Contains(entries, static e => e.EndsWith(".db", StringComparison.Ordinal) && e.Contains("/apps/", StringComparison.Ordinal));
        Assert.Contains(entries, static e => e.EndsWith(".db", StringComparison.Ordinal) && e.Contains("/devices/", StringComparison.Ordinal));
        Assert.Equal(Folder, File.GetUnixFileMode(_cli.HomePath));
        Assert.All(entries, e => Assert.True(
            File.GetUnixFileMode(e) == (Directory.Exists(e) ? Folder : File600),
            $"{Path.GetRelativePath(_cli.HomePath, e)} is {File.GetUnixFileMode(e)}"));
    }

    [Fact]
    public void OpeningAnOlderHome_TightensWhatOthersCouldRead()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var old = new TempDirectory("old-home");
        var store = Path.Combine(old.Path, "devices", "abc");
        Directory.CreateDirectory(store);
        File.WriteAllText(Path.Combine(store, "self-1-1.db"), "db");
        File.WriteAllText(Path.Combine(old.Path, "default-user"), "1");
        File.SetUnixFileMode(old.Path, Folder | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(Path.Combine(store, "self-1-1.db"), File600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        _ = new SelfHome(old.Path);

        Assert.Equal(Folder, File.GetUnixFileMode(old.Path));
        Assert.Equal(Folder, File.GetUnixFileMode(store));
        Assert.Equal(File600, File.GetUnixFileMode(Path.Combine(store, "self-1-1.db")));
        Assert.Equal(File600, File.GetUnixFileMode(Path.Combine(old.Path, "default-user")));
    }

    public void Dispose() => _cli.Dispose();
}
