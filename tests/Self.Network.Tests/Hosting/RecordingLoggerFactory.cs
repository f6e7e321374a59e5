using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Self.Network.Tests.Hosting;

/// <summary>Keeps every log entry, and lets a test wait for one that matches.</summary>
public sealed class RecordingLoggerFactory : ILoggerFactory
{
    private readonly ConcurrentQueue<(LogLevel Level, EventId Event, string Message, Exception? Exception)> _entries = new();
    private readonly List<(Func<EventId, string, bool> Match, TaskCompletionSource Seen)> _waiters = [];

    public IReadOnlyCollection<(LogLevel Level, EventId Event, string Message, Exception? Exception)> Entries => _entries;

    public Task WaitForAsync(Func<EventId, string, bool> match)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            if (_entries.Any(e => match(e.Event, e.Message)))
            {
                return Task.CompletedTask;
            }

            _waiters.Add((match, seen));
        }

        return seen.Task;
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private void Add(LogLevel level, EventId eventId, string message, Exception? exception)
    {
        lock (_waiters)
        {
            _entries.Enqueue((level, eventId, message, exception));
            foreach (var waiter in _waiters.Where(w => w.Match(eventId, message)).ToList())
            {
                waiter.Seen.TrySetResult();
                _waiters.Remove(waiter);
            }
        }
    }

    private sealed class Logger(RecordingLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add(logLevel, eventId, formatter(state, exception), exception);
    }
}
