namespace Self.Testing;

/// <summary>
/// A fresh folder under one root per test run (<c>$TMPDIR/self-tests/&lt;run&gt;</c>), deleted on dispose; whatever is
/// left under the run's root (folders made with <see cref="Create"/>, or held open at dispose) is deleted when the test
/// process exits, or by the next run if the process was killed.
/// </summary>
public sealed class TempDirectory : IDisposable
{
    private static readonly Lazy<string> RunRoot = new(CreateRunRoot);

    /// <summary>Makes the folder, named <c>&lt;prefix&gt;-&lt;guid&gt;</c>.</summary>
    public TempDirectory(string prefix = "self")
    {
        Path = Create(prefix);
    }

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <summary>A sub-folder path (not created).</summary>
    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>
    /// Makes a folder whose lifetime is the test run's (for a server started by a test that outlives no one):
    /// it is deleted with the run's root when the process exits.
    /// </summary>
    public static string Create(string prefix = "self")
    {
        var path = System.IO.Path.Combine(RunRoot.Value, $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <inheritdoc />
    public void Dispose() => TryDelete(Path);

    private static string CreateRunRoot()
    {
        var runs = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "self-tests");
        SweepEndedRuns(runs);
        var root = System.IO.Path.Combine(runs, $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        return root;
    }

    /// <summary>Deletes the roots of runs whose process is gone (a test host killed before it could clean up).</summary>
    private static void SweepEndedRuns(string runs)
    {
        if (!Directory.Exists(runs))
        {
            return;
        }

        foreach (var run in Directory.EnumerateDirectories(runs))
        {
            var name = System.IO.Path.GetFileName(run);
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0 && int.TryParse(name.AsSpan(0, dash), System.Globalization.CultureInfo.InvariantCulture, out var pid) && !IsRunning(pid))
            {
                TryDelete(run);
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A process that still holds a file (SQLite WAL) must not fail the test; the run's root is tried again at exit.
        }
        catch (UnauthorizedAccessException)
        {
            // As above: a file another process still holds.
        }
    }
}
