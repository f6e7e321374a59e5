using Microsoft.Extensions.Time.Testing;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Sdk.Authentication;

namespace Self.EndToEnd.Tests.Sdk;

/// <summary>An answer that never comes ends as Expired in every calling style (spec §9 [ours]), on a fake clock.</summary>
[Collection(NetworkCollection.Name)]
public sealed class ExpiryTests(NetworkFixture network) : IDisposable
{
    private readonly TempDirectory _storage = new("sdk-expiry");

    public void Dispose() => _storage.Dispose();

    [Fact]
    public async Task Request_NoAnswerBeforeExpiry_ExpiredReachesBlockingCallbackAndSubscription()
    {
        // The fake clock starts at the real time so the network accepts the client's tokens; one step of 61 s
        // stays inside the network's 60 s clock skew.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage, time);
        await using var _ = client;
        var user = await TestIdentities.RegisterRawUserAsync(network);   // no device ever answers
        await TestIdentities.ConnectAsync(user, app.AppId);
        var expiry = new AuthenticationRequestOptions { Expiry = TimeSpan.FromSeconds(60) };

        var subscribed = new List<AuthenticationResponse>();
        var allSubscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = client.Authentication.Subscribe(r =>
        {
            lock (subscribed)
            {
                subscribed.Add(r);
                if (subscribed.Count == 3)
                {
                    allSubscribed.TrySetResult();
                }
            }
        });
        var callback = new TaskCompletionSource<AuthenticationResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        var callbackCount = 0;

        var blockingCid = "blocking-" + Guid.NewGuid();
        var blocking = client.Authentication.RequestAsync(user.SelfId, expiry with { ConversationId = blockingCid });
        var nonBlockingCid = await client.Authentication.RequestAsync(user.SelfId, r =>
        {
            Interlocked.Increment(ref callbackCount);
            callback.TrySetResult(r);
        }, expiry);
        var asyncCid = await client.Authentication.SendAsync(user.SelfId, expiry);
        await WaitUntilOpenAsync(client.Authentication, blockingCid);
        Assert.False(blocking.IsCompleted);
        Assert.False(callback.Task.IsCompleted);

        time.Advance(TimeSpan.FromSeconds(61));

        var blockingOutcome = await blocking.WaitAsync(TimeSpan.FromSeconds(30));
        var callbackOutcome = await callback.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var asyncOutcome = await client.Authentication.WaitForResponseAsync(asyncCid).WaitAsync(TimeSpan.FromSeconds(30));
        // Subscribers hear an outcome after its waiters do: wait for all three before looking at them.
        await allSubscribed.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(AuthenticationStatus.Expired, blockingOutcome.Status);
        Assert.Equal(blockingCid, blockingOutcome.ConversationId);
        Assert.Equal(AuthenticationStatus.Expired, callbackOutcome.Status);
        Assert.Equal(nonBlockingCid, callbackOutcome.ConversationId);
        Assert.Equal(AuthenticationStatus.Expired, asyncOutcome.Status);
        Assert.False(blockingOutcome.Accepted);
        Assert.Equal(1, Volatile.Read(ref callbackCount));
        lock (subscribed)
        {
            Assert.Equal(
                new[] { asyncCid, blockingCid, nonBlockingCid }.Order(),
                subscribed.Select(r => r.ConversationId).Order());
            Assert.All(subscribed, r => Assert.Equal(AuthenticationStatus.Expired, r.Status));
        }
    }

    [Fact]
    public async Task Request_BeforeExpiry_StillOpen()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage, time);
        await using var _ = client;
        var user = await TestIdentities.RegisterRawUserAsync(network);
        await TestIdentities.ConnectAsync(user, app.AppId);

        var cid = await client.Authentication.SendAsync(user.SelfId, new AuthenticationRequestOptions { Expiry = TimeSpan.FromSeconds(60) });
        time.Advance(TimeSpan.FromSeconds(59));
        var wait = client.Authentication.WaitForResponseAsync(cid);

        // No sleep: the fake clock runs due timers inside Advance, and an expiring request leaves the open ones there
        // and then; one second before its expiry the request is still open.
        var state = await client.Authentication.GetStatusAsync(cid);
        Assert.NotNull(state);
        Assert.Null(state.Response);
        Assert.False(wait.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(AuthenticationStatus.Expired, (await wait.WaitAsync(TimeSpan.FromSeconds(30))).Status);
    }

    private static Task WaitUntilOpenAsync(AuthenticationService authentication, string cid) =>
        Polling.WaitUntilAsync(async () => await authentication.GetStatusAsync(cid) is not null, $"request {cid} is open");
}
