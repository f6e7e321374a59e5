namespace Self.Testing;

/// <summary>Finds the shared conformance vectors that sit beside the checkout (../shared/conformance).</summary>
public static class Conformance
{
    private static readonly Lazy<string> Root = new(Locate);

    /// <summary>The folder <c>shared/conformance</c>.</summary>
    public static string Directory => Root.Value;

    /// <summary>Full path of a file under <c>shared/conformance</c>, e.g. <c>Path("siggraph", "expected.json")</c>.</summary>
    public static string Path(params string[] parts) => System.IO.Path.Combine([Root.Value, .. parts]);

    /// <summary>Reads a conformance file as text.</summary>
    public static string ReadText(params string[] parts) => File.ReadAllText(Path(parts));

    private static string Locate() => Locate(ThisFile());

    private static string ThisFile([System.Runtime.CompilerServices.CallerFilePath] string path = "") => path;

    private static string Locate(string sourceFile)
    {
        var env = Environment.GetEnvironmentVariable("SELF_CONFORMANCE_DIR");
        if (!string.IsNullOrEmpty(env) && System.IO.Directory.Exists(env))
        {
            return env;
        }

        // Beside the test binaries' checkout, or beside the checkout this file was compiled from.
        foreach (var start in new[] { AppContext.BaseDirectory, System.IO.Path.GetDirectoryName(sourceFile) ?? "" })
        {
            for (var dir = string.IsNullOrEmpty(start) ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = System.IO.Path.Combine(dir.FullName, "shared", "conformance");
                if (System.IO.Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new DirectoryNotFoundException(
            "shared/conformance was not found above the test binaries; set SELF_CONFORMANCE_DIR.");
    }
}
