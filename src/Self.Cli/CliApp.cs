using System.CommandLine;
using Self.Cli.Commands;
using Self.Protocol;

namespace Self.Cli;

/// <summary>
/// The <c>self</c> command: parses the arguments, runs the command against the libraries and turns every way it can
/// end into an exit code (<see cref="ExitCodes"/>) and a message that says why, never a stack trace.
/// </summary>
public static class CliApp
{
    /// <summary>Runs one command line and returns its exit code.</summary>
    public static async Task<int> RunAsync(string[] args, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);

        var root = CreateRootCommand(context);
        var parseResult = root.Parse(args);
        if (parseResult.Errors.Count > 0 && parseResult.Action is not { ClearsParseErrors: true })
        {
            foreach (var error in parseResult.Errors)
            {
                await context.Error.WriteLineAsync(error.Message).ConfigureAwait(false);
            }

            await context.Error.WriteLineAsync($"Run '{CommandPath(parseResult)} --help' for usage.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        var invocation = new InvocationConfiguration
        {
            Output = context.Output,
            Error = context.Error,
            EnableDefaultExceptionHandler = false,

            // Ctrl-C is the caller's to turn into context.CancellationToken (Program does).
            ProcessTerminationTimeout = null,
        };
        try
        {
            return await parseResult.InvokeAsync(invocation, context.CancellationToken).ConfigureAwait(false);
        }
        catch (CliException ex)
        {
            await context.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return ex.ExitCode;
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            await context.Error.WriteLineAsync("Cancelled.").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
        catch (ArgumentException ex)
        {
            // What a person typed was refused by a library: its sentence, without .NET's "(Parameter 'x')" or "Actual value was".
            await context.Error.WriteLineAsync(PlainMessage(ex)).ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (Exception ex) when (ex is SelfException or IOException or UnauthorizedAccessException or HttpRequestException or TimeoutException)
        {
            // The libraries' messages say what went wrong and what to do; that is all a person needs.
            await context.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return ExitCodes.Failed;
        }
        catch (Exception ex)
        {
            await context.Error.WriteLineAsync($"Failed ({ex.GetType().Name}): {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
    }

    /// <summary>The command tree; its actions run against <paramref name="context"/>.</summary>
    public static RootCommand CreateRootCommand(CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new RootCommand("self: run a Self network, register apps and users, and authenticate from a terminal.")
        {
            NetworkCommands.Create(context),
            AppCommands.Create(context),
            UserCommands.Create(context),
            AuthCommands.Create(context),
            DemoCommand.Create(context),
            AuthenticatorCommand.Create(context),
            OidcCommands.Create(context),
        };
    }

    /// <summary>An argument exception's own sentence, without the parameter name and value .NET appends.</summary>
    internal static string PlainMessage(ArgumentException ex)
    {
        var message = ex.Message;
        var cut = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        if (cut >= 0)
        {
            message = message[..cut];
        }

        cut = message.IndexOf(Environment.NewLine + "Actual value was", StringComparison.Ordinal);
        return (cut >= 0 ? message[..cut] : message).Trim();
    }

    private static string CommandPath(ParseResult parseResult)
    {
        var names = new List<string>();
        for (var result = parseResult.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Add(result.Command is RootCommand ? "self" : result.Command.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }
}
