using System.Text;

namespace Self.Testing;

/// <summary>
/// Captures what a command writes and signals its first complete line: the one-line <c>--json</c> banner that a
/// command which keeps running (a server, a demo) prints once it listens.
/// </summary>
public sealed class LineSignallingWriter : StringWriter
{
    /// <summary>Completes with the first line written (without its line end).</summary>
    public TaskCompletionSource<string> FirstLine { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        base.Write(value);
        if (value == '\n')
        {
            FirstLine.TrySetResult(ToString().Split('\n')[0].TrimEnd('\r'));
        }
    }

    public override void Write(string? value)
    {
        foreach (var c in value ?? "")
        {
            Write(c);
        }
    }

    public override Task WriteLineAsync(string? value)
    {
        Write(value);
        Write('\n');
        return Task.CompletedTask;
    }
}
