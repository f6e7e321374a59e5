using Microsoft.Extensions.Logging;

namespace Self.Testing;

/// <summary>One log event a <see cref="LogRecorder"/> saw: its category, level, id, text and named values.</summary>
public sealed record RecordedLog(string Category, LogLevel Level, EventId EventId, string Message, IReadOnlyDictionary<string, object?> Values)
{
    /// <summary>The named value <paramref name="name"/> as text (e.g. <c>Cid</c>), or null.</summary>
    public string? this[string name] => Values.TryGetValue(name, out var value) ? value?.ToString() : null;
}

/// <summary>
/// A logger factory (pass it as a library's <c>LoggerFactory</c>) that records every event at every level and lets a
/// test wait for one: an explicit signal that something happened (a request was sent, a late answer dropped), so a
/// test can then assert what did <em>not</em> happen without sleeping.
/// </summary>
public sealed class LogRecorder : ILoggerFactory
{
    private readonly Lock _gate = new();
    private readonly List<RecordedLog> _entries = [];
    private readonly List<(Func<RecordedLog, bool> Match, TaskCompletionSource<RecordedLog> Seen)> _waiters = [];

    /// <summary>Everything recorded so far, in order.</summary>
    public IReadOnlyList<RecordedLog> Entries
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries];
            }
        }
    }

    /// <summary>The first event (recorded before or after the call) that <paramref name="match"/> accepts; throws
    /// <see cref="TimeoutException"/> after <paramref name="timeout"/> (default <see cref="Polling.Patience"/>).</summary>
    public async Task<RecordedLog> WaitForAsync(Func<RecordedLog, bool> match, string message, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(match);
        var seen = new TaskCompletionSource<RecordedLog>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_entries.FirstOrDefault(match) is { } earlier)
            {
                return earlier;
            }

            _waiters.Add((match, seen));
        }

        try
        {
            return await seen.Task.WaitAsync(timeout ?? Polling.Patience).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No log event came for: {message}.");
        }
    }

    /// <summary>Waits for the event with id <paramref name="eventId"/> whose named value <paramref name="name"/> is
    /// <paramref name="value"/> (e.g. event 4002 with <c>Cid</c> = the request's conversation id).</summary>
    public Task<RecordedLog> WaitForAsync(int eventId, string name, string value, TimeSpan? timeout = null) =>
        WaitForAsync(e => e.EventId.Id == eventId && e[name] == value, $"event {eventId} with {name} = {value}", timeout);

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

    /// <inheritdoc />
    public void AddProvider(ILoggerProvider provider)
    {
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private void Record(RecordedLog entry)
    {
        List<TaskCompletionSource<RecordedLog>> release = [];
        lock (_gate)
        {
            _entries.Add(entry);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(entry))
                {
                    release.Add(_waiters[i].Seen);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (var seen in release)
        {
            seen.TrySetResult(entry);
        }
    }

    private sealed class Recorder(LogRecorder owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var (key, value) in pairs)
                {
                    values[key] = value;
                }
            }

            owner.Record(new RecordedLog(category, logLevel, eventId, formatter(state, exception), values));
        }
    }
}
