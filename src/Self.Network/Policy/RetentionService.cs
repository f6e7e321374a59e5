using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Self.Network.Storage;

namespace Self.Network.Policy;

/// <summary>
/// Drops inbox messages older than <see cref="SelfNetworkOptions.InboxRetention"/> (spec §10: 30 days), at start
/// and then every <see cref="SelfNetworkOptions.RetentionSweepInterval"/> on the options' <see cref="TimeProvider"/>.
/// </summary>
internal sealed class RetentionService(IInboxStore inboxes, SelfNetworkOptions options, ILogger<RetentionService> logger) : BackgroundService
{
    private PeriodicTimer? _timer;

    /// <summary>Raised after each sweep with the number of messages dropped (tests wait on it).</summary>
    internal event Action<long>? Swept;

    /// <summary>Drops every message older than the retention period now; returns how many.</summary>
    public async ValueTask<long> SweepAsync(CancellationToken cancellationToken = default)
    {
        var cutoff = options.TimeProvider.GetUtcNow() - options.InboxRetention;
        var dropped = await inboxes.PruneAsync(UnixTime.Nanoseconds(cutoff), cancellationToken).ConfigureAwait(false);
        if (dropped > 0)
        {
            Log.Pruned(logger, dropped, cutoff);
        }

        Swept?.Invoke(dropped);
        return dropped;
    }

    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // The timer starts with the host (ExecuteAsync runs later, on the thread pool), so a clock that moves on
        // before the loop first waits still ticks it.
        _timer = new PeriodicTimer(options.RetentionSweepInterval, options.TimeProvider);
        return base.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = _timer ?? new PeriodicTimer(options.RetentionSweepInterval, options.TimeProvider);
        try
        {
            do
            {
                try
                {
                    await SweepAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    Log.PruneFailed(logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}

/// <summary>Unix time in nanoseconds, the unit of <c>metadata.timestamp</c> (spec §6).</summary>
internal static class UnixTime
{
    public static long Nanoseconds(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
}
