namespace Self.EndToEnd.Bench;

/// <summary>Rewrites a benchmark's section of docs/performance.md and leaves the rest of the page alone.</summary>
internal static class PerformanceDoc
{
    private const string Start = "<!-- end-to-end bench: start -->";
    private const string End = "<!-- end-to-end bench: end -->";

    /// <summary>This benchmark's section.</summary>
    public static void WriteSection(string section) => WriteSection(section, Start, End);

    /// <summary>The section between <paramref name="start"/> and <paramref name="end"/> (another benchmark's own markers).</summary>
    public static void WriteSection(string section, string start, string end)
    {
        var path = Locate();
        var text = File.Exists(path) ? File.ReadAllText(path) : "# Performance\n\n";
        var block = $"{start}\n{section.TrimEnd()}\n{end}";
        var from = text.IndexOf(start, StringComparison.Ordinal);
        var to = text.IndexOf(end, StringComparison.Ordinal);
        text = from >= 0 && to > from
            ? text[..from] + block + text[(to + end.Length)..]
            : text.TrimEnd() + "\n\n" + block + "\n";
        File.WriteAllText(path, text);
    }

    private static string Locate()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Self.slnx")))
            {
                return Path.Combine(dir.FullName, "docs", "performance.md");
            }
        }

        throw new DirectoryNotFoundException("run the benchmark from inside the checkout (Self.slnx not found above the current folder)");
    }
}
