using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Self.Cli;
using Spectre.Console;

using var stop = new CancellationTokenSource();

// Ctrl-C (SIGINT) and SIGTERM ask the command to stop cleanly; a second Ctrl-C ends the process at once.
void Stop(PosixSignalContext signal)
{
    signal.Cancel = !stop.IsCancellationRequested || signal.Signal != PosixSignal.SIGINT;
    stop.Cancel();
}

using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

// The libraries explain failures through exceptions the command prints; their logs are for whoever asks for them.
var level = Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("SELF_LOG_LEVEL"), ignoreCase: true, out var parsed) ? parsed : LogLevel.Error;
using var loggers = LoggerFactory.Create(logging => logging
    .SetMinimumLevel(level)
    .AddSimpleConsole(console => console.SingleLine = true)
    .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace));

var context = new CliContext(AnsiConsole.Console, Console.Out, Console.Error, Environment.GetEnvironmentVariable, stop.Token)
{
    LoggerFactory = loggers,
};
return await CliApp.RunAsync(args, context);
