using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace Self.Cli;

/// <summary>
/// Everything a command touches outside itself: the terminal, the output a script reads, the environment and the
/// clock. <c>Program</c> passes the process's own; tests pass captured writers and their own environment.
/// </summary>
/// <param name="Console">Where people read: tables, spinners, prompts, QR codes.</param>
/// <param name="Output">Where scripts read: the <c>--json</c> documents (and help).</param>
/// <param name="Error">Where failures are explained.</param>
/// <param name="GetEnvironment">Looks up an environment variable (<c>SELF_HOME</c>, <c>SELF_ADMIN_TOKEN</c>).</param>
/// <param name="CancellationToken">Stops the command (Ctrl-C).</param>
public sealed record CliContext(
    IAnsiConsole Console,
    TextWriter Output,
    TextWriter Error,
    Func<string, string?> GetEnvironment,
    CancellationToken CancellationToken = default)
{
    /// <summary>Where the libraries log; nothing by default.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Every environment variable (<c>self network serve</c> reads the <c>SELF_</c>-prefixed ones as configuration).</summary>
    public Func<IEnumerable<KeyValuePair<string, string>>> ListEnvironment { get; init; } = ProcessEnvironment;

    /// <summary>The clock handed to the libraries.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The folder relative paths (such as the default <c>./.self-network</c>) are resolved from.</summary>
    public string WorkingDirectory { get; init; } = Environment.CurrentDirectory;

    /// <summary>Resolves <paramref name="path"/> against <see cref="WorkingDirectory"/>.</summary>
    public string ResolvePath(string path) => Path.GetFullPath(path, WorkingDirectory);

    private static IEnumerable<KeyValuePair<string, string>> ProcessEnvironment()
    {
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            yield return new KeyValuePair<string, string>((string)entry.Key, entry.Value as string ?? string.Empty);
        }
    }
}
