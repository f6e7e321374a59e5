using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Self.Network.Policy;
using Self.Network.Storage;
using Self.Network.Tests.Infrastructure;

namespace Self.Network.Tests.Policy;

public sealed class RetentionTests
{
    [Fact]
    public async Task SweepAsync_MessageOlderThanRetention_IsDroppedAndYoungerKept()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());

        // The background loop does not tick before day 30; from then on it may sweep as well, which changes nothing.
        await using var server = await NetworkFixture.StartAsync(TempDirectory.Create(), time, configure: o => o with { RetentionSweepInterval = TimeSpan.FromDays(30) });
        var inboxes = server.Services.GetRequiredService<IInboxStore>();
        var retention = server.Services.GetRequiredService<RetentionService>();
        await inboxes.AppendAsync("12345678901:1", UnixTime.Nanoseconds(time.GetUtcNow()), new byte[] { 1 });
        time.Advance(TimeSpan.FromDays(2));
        await inboxes.AppendAsync("12345678901:1", UnixTime.Nanoseconds(time.GetUtcNow()), new byte[] { 2 });

        time.Advance(TimeSpan.FromDays(27));
        Assert.Equal(0, await retention.SweepAsync());
        Assert.Equal(2, (await inboxes.ReadAsync("12345678901:1", 0, 10)).Count);

        time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));
        await retention.SweepAsync();
        var left = Assert.Single(await inboxes.ReadAsync("12345678901:1", 0, 10));
        Assert.Equal(new byte[] { 2 }, left.Frame.ToArray());
    }

    [Fact]
    public async Task BackgroundLoop_ClockPassesTheSweepInterval_DropsExpiredMessages()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = await NetworkFixture.StartAsync(TempDirectory.Create(), time);
        var inboxes = server.Services.GetRequiredService<IInboxStore>();
        var retention = server.Services.GetRequiredService<RetentionService>();
        var dropped = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        retention.Swept += count =>
        {
            if (count > 0)
            {
                dropped.TrySetResult(count);
            }
        };
        await inboxes.AppendAsync("12345678902:1", UnixTime.Nanoseconds(time.GetUtcNow()), new byte[] { 1 });

        time.Advance(TimeSpan.FromDays(31));

        Assert.Equal(1, await dropped.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Empty(await inboxes.ReadAsync("12345678902:1", 0, 10));
    }
}
