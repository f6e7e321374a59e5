using Spectre.Console;

namespace Self.Cli.Terminal;

/// <summary>Shows a spinner while a task runs (unless the output is for a script).</summary>
internal static class Waiting
{
    public static async Task<T> RunAsync<T>(IAnsiConsole console, bool quiet, string status, Task<T> task)
    {
        if (quiet)
        {
            return await task.ConfigureAwait(false);
        }

        return await console.Status()
            .Spinner(Spinner.Known.Dots)
            .StartAsync(Markup.Escape(status), _ => task)
            .ConfigureAwait(false);
    }
}
