using System.Text;

namespace Self.Cli.Terminal;

/// <summary>
/// Draws a QR code for a terminal with half-block characters: one text row holds two module rows, one column per
/// module, with a one-module quiet zone (the terminal's own background frames the rest), so a code is its module count
/// plus two columns wide.
/// </summary>
internal static class TerminalQr
{
    private const int QuietZone = 1;

    /// <summary>The columns the drawn code takes.</summary>
    public static int Width(IReadOnlyList<IReadOnlyList<bool>> modules) => Trim(modules).Count + 2 * QuietZone;

    /// <summary>The code as text, or null when it is wider than <paramref name="columns"/>.</summary>
    public static string? Render(IReadOnlyList<IReadOnlyList<bool>> modules, int columns)
    {
        var core = Trim(modules);
        var size = core.Count + 2 * QuietZone;
        if (size > columns)
        {
            return null;
        }

        // Light modules are drawn as ink so that the code reads dark-on-light on a dark terminal too.
        bool Dark(int row, int column) =>
            row >= QuietZone && column >= QuietZone && row < size - QuietZone && column < size - QuietZone && core[row - QuietZone][column - QuietZone];

        var text = new StringBuilder();
        for (var row = 0; row < size; row += 2)
        {
            for (var column = 0; column < size; column++)
            {
                var top = !Dark(row, column);
                var bottom = row + 1 < size && !Dark(row + 1, column);
                text.Append((top, bottom) switch
                {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    _ => ' ',
                });
            }

            text.Append('\n');
        }

        return text.ToString().TrimEnd('\n');
    }

    /// <summary>The modules without the generator's quiet zone (rows and columns with no dark module around the code).</summary>
    private static List<IReadOnlyList<bool>> Trim(IReadOnlyList<IReadOnlyList<bool>> modules)
    {
        var first = 0;
        while (first < modules.Count && !modules[first].Contains(true))
        {
            first++;
        }

        var last = modules.Count - 1;
        while (last > first && !modules[last].Contains(true))
        {
            last--;
        }

        var result = new List<IReadOnlyList<bool>>();
        for (var row = first; row <= last; row++)
        {
            result.Add(modules[row].Skip(first).Take(last - first + 1).ToList());
        }

        return result;
    }
}
