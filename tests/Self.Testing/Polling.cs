namespace Self.Testing;

/// <summary>
/// Waiting for something that must happen (a real network delivers asynchronously). The timeout is a safety net, not a
/// timing assumption: a test never waits on the clock to prove that something did <em>not</em> happen.
/// </summary>
public static class Polling
{
    /// <summary>How long a test waits for what should happen promptly before it gives up.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>Polls <paramref name="condition"/> until it is true; throws <see cref="TimeoutException"/> naming
    /// <paramref name="message"/> after <paramref name="timeout"/>.</summary>
    public static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string message) =>
        WaitUntilAsync(() => Task.FromResult(condition()), timeout, message);

    /// <summary>As <see cref="WaitUntilAsync(Func{bool}, TimeSpan, string)"/> with <see cref="Patience"/>.</summary>
    public static Task WaitUntilAsync(Func<bool> condition, string message) => WaitUntilAsync(condition, Patience, message);

    /// <summary>As <see cref="WaitUntilAsync(Func{Task{bool}}, TimeSpan, string)"/> with <see cref="Patience"/>.</summary>
    public static Task WaitUntilAsync(Func<Task<bool>> condition, string message) => WaitUntilAsync(condition, Patience, message);

    /// <summary>Polls the asynchronous <paramref name="condition"/> until it is true; throws
    /// <see cref="TimeoutException"/> naming <paramref name="message"/> after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string message)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = TimeProvider.System.GetTimestamp() + (long)(timeout.TotalSeconds * TimeProvider.System.TimestampFrequency);
        while (!await condition().ConfigureAwait(false))
        {
            if (TimeProvider.System.GetTimestamp() >= deadline)
            {
                throw new TimeoutException($"Gave up after {timeout.TotalSeconds:0.#} s waiting until {message}.");
            }

            await Task.Delay(Interval, TimeProvider.System).ConfigureAwait(false);
        }
    }

    /// <summary>Polls <paramref name="value"/> until it returns non-null and returns that value.</summary>
    public static async Task<T> WaitForAsync<T>(Func<Task<T?>> value, TimeSpan timeout, string message)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(value);
        T? found = null;
        await WaitUntilAsync(async () => (found = await value().ConfigureAwait(false)) is not null, timeout, message).ConfigureAwait(false);
        return found!;
    }
}
