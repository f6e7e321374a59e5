using Self.Device;

namespace Self.Oidc.Tests.Infrastructure;

internal static class Waiting
{
    /// <summary>A safety net for what should happen promptly, not a timing assumption.</summary>
    public static readonly TimeSpan Patience = Polling.Patience;

    public static async Task<IncomingRequest> NextRequestAsync(this SelfDevice device)
    {
        using var stop = new CancellationTokenSource(Patience);
        await foreach (var request in device.ReadRequestsAsync(stop.Token))
        {
            return request;
        }

        throw new InvalidOperationException("The device's request stream ended.");
    }

    /// <summary>Polls <paramref name="condition"/> until true (a real network delivers asynchronously): the kit's poll.</summary>
    public static Task UntilAsync(Func<Task<bool>> condition, string what) => Polling.WaitUntilAsync(condition, Patience, what);
}
