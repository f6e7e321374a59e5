using System.Text;
using System.Text.Json;
using Self.Cli;
using Self.Cli.Home;
using Self.Testing;
using Spectre.Console;

namespace Self.EndToEnd.Tests.Cli;

/// <summary>
/// Runs <c>self</c> command lines in-process, as a person at one machine would: one SELF_HOME (a fresh temp folder),
/// one working folder, an environment of its own, and captured output.
/// </summary>
public sealed class CliRunner : IDisposable
{
    private readonly TempDirectory _home = new("self-home");
    private readonly TempDirectory _work = new("self-work");

    /// <summary>The environment the commands see; SELF_HOME is set.</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public CliRunner()
    {
        Environment["SELF_HOME"] = _home.Path;
    }

    /// <summary>The width of the terminal the commands see (columns).</summary>
    public int ConsoleWidth { get; set; } = 200;

    /// <summary>The SELF_HOME folder.</summary>
    public string HomePath => _home.Path;

    /// <summary>The folder relative paths resolve from (holds no network data unless a test puts it there).</summary>
    public string WorkingDirectory => _work.Path;

    /// <summary>The home as the command line sees it.</summary>
    public SelfHome Home => new(_home.Path);

    /// <summary>Runs one command line to its end.</summary>
    public Task<CliResult> RunAsync(params string[] args) => RunAsync(CancellationToken.None, args);

    /// <summary>Runs one command line until it ends or <paramref name="cancellationToken"/> stops it (Ctrl-C).</summary>
    public Task<CliResult> RunAsync(CancellationToken cancellationToken, params string[] args) => Start(cancellationToken, args).Completion;

    /// <summary>Starts one command line and returns at once; its output can be read while it runs.</summary>
    public RunningCommand Start(CancellationToken cancellationToken, params string[] args)
    {
        var output = new CapturedWriter();
        var error = new CapturedWriter();
        var console = new CapturedWriter();
        var ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(console),
        });
        ansi.Profile.Width = ConsoleWidth;
        var context = new CliContext(ansi, output, error, name => Environment.GetValueOrDefault(name), cancellationToken)
        {
            WorkingDirectory = _work.Path,
            ListEnvironment = () => Environment.Select(static e => e).ToArray(),
        };
        var run = Task.Run(async () =>
        {
            var exitCode = await CliApp.RunAsync(args, context);
            return new CliResult(exitCode, output.Text, error.Text, console.Text);
        });
        return new RunningCommand(run, output, console);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _home.Dispose();
        _work.Dispose();
    }
}

/// <summary>How a command line ended.</summary>
/// <param name="ExitCode">The exit code.</param>
/// <param name="Output">What went to stdout (JSON for scripts, help, raw text).</param>
/// <param name="Error">What went to stderr (why it failed).</param>
/// <param name="Console">What the person saw in the terminal (tables, outcomes).</param>
public sealed record CliResult(int ExitCode, string Output, string Error, string Console)
{
    /// <summary>Everything that was printed, for assertions that do not care where.</summary>
    public string All => Output + Console + Error;

    /// <summary>The JSON documents printed to stdout, one a line.</summary>
    public IReadOnlyList<JsonElement> JsonLines() =>
        [.. Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(static line => JsonDocument.Parse(line).RootElement.Clone())];

    /// <inheritdoc />
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- console\n{Console}\n--- stderr\n{Error}";
}

/// <summary>A command line still running.</summary>
public sealed class RunningCommand(Task<CliResult> completion, CapturedWriter output, CapturedWriter console)
{
    /// <summary>Ends with the result.</summary>
    public Task<CliResult> Completion { get; } = completion;

    /// <summary>Waits until stdout holds <paramref name="lines"/> lines; fails if the command ends first or it takes far too long.</summary>
    public async Task<string[]> WaitForOutputLinesAsync(int lines)
    {
        using var timeout = new CancellationTokenSource(Polling.Patience);
        while (true)
        {
            // The next write is awaited from before the text is read, so a write in between is never missed.
            var written = output.WaitForWriteAsync(timeout.Token);
            var text = output.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (text.Length >= lines)
            {
                return text;
            }

            if (Completion.IsCompleted)
            {
                throw new InvalidOperationException($"The command ended before printing {lines} line(s): {await Completion}");
            }

            await Task.WhenAny(written, Completion);
            timeout.Token.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Waits until the terminal shows <paramref name="text"/> and returns all it shows; fails if the command
    /// ends first or it takes far too long.</summary>
    public async Task<string> WaitForConsoleAsync(string text)
    {
        using var timeout = new CancellationTokenSource(Polling.Patience);
        while (true)
        {
            var written = console.WaitForWriteAsync(timeout.Token);
            var shown = console.Text;
            if (shown.Contains(text, StringComparison.Ordinal))
            {
                return shown;
            }

            if (Completion.IsCompleted)
            {
                throw new InvalidOperationException($"The command ended before showing '{text}': {await Completion}");
            }

            await Task.WhenAny(written, Completion);
            timeout.Token.ThrowIfCancellationRequested();
        }
    }

    /// <summary>What the terminal shows so far.</summary>
    public string ConsoleText => console.Text;
}

/// <summary>A thread-safe text writer that remembers everything and signals each write.</summary>
public sealed class CapturedWriter : TextWriter
{
    private readonly StringBuilder _text = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <inheritdoc />
    public override Encoding Encoding => Encoding.UTF8;

    /// <summary>Everything written so far.</summary>
    public string Text
    {
        get
        {
            lock (_gate)
            {
                return _text.ToString();
            }
        }
    }

    /// <inheritdoc />
    public override void Write(char value)
    {
        TaskCompletionSource written;
        lock (_gate)
        {
            _text.Append(value);
            written = _written;
            _written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        written.TrySetResult();
    }

    /// <inheritdoc />
    public override void Write(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }

        TaskCompletionSource written;
        lock (_gate)
        {
            _text.Append(value);
            written = _written;
            _written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        written.TrySetResult();
    }

    /// <summary>Completes at the next write.</summary>
    public Task WaitForWriteAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _written.Task.WaitAsync(cancellationToken);
        }
    }
}
