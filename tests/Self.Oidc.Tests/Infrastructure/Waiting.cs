using Self.Device;

namespace Self.Oidc.Tests.Infrastructure;

internal static class Waiting
{
    /// <summary>A safety net for what should happen promptly, not a timing assumption.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static async Task<IncomingRequest> NextRequestAsync(this SelfDevice device)
    {
        using var stop = new CancellationTokenSource(Patience);
        await foreach (var request in device.ReadRequestsAsync(stop.Token))
        {
            return request;
        }

        throw new InvalidOperationException("The device's request stream ended.");
    }

    /// <summary>Polls <paramref name="condition"/> until true (a real network delivers asynchronously).</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        using var stop = new CancellationTokenSource(Patience);
        while (!await condition())
        {
            if (stop.IsCancellationRequested)
            {
                throw new TimeoutException("Gave up waiting: " + what);
            }

            await Task.Delay(50);
        }
    }
}
