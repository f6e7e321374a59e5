using Spectre.Console;

namespace Self.Cli.Terminal;

/// <summary>Shows a spinner while a task runs (unless the output is for a script), or waits for Ctrl-C.</summary>
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

    /// <summary>Waits until <paramref name="cancellationToken"/> is cancelled (Ctrl-C), the way a serving command stops.</summary>
    public static async Task UntilStoppedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl-C: the normal way to stop.
        }
    }
}
