using Self.Network.Storage;

namespace Self.Network.Tests.Storage;

/// <summary>What every <see cref="IAddressClaims"/> must do within one instance (spec §6 superseding).</summary>
public abstract class AddressClaimsContract : IAsyncLifetime
{
    private IAddressClaims? _claims;

    protected IAddressClaims Claims => _claims ?? throw new InvalidOperationException("The claims are not created yet.");

    public async Task InitializeAsync() => _claims = await CreateClaimsAsync();

    public virtual Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Builds a fresh, started implementation (disposed by <see cref="DisposeAsync"/>).</summary>
    protected abstract Task<IAddressClaims> CreateClaimsAsync();

    protected static string NewAddress(string device = "1") =>
        Random.Shared.NextInt64(10_000_000_000, 99_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + device;

    [Fact]
    public void Claim_SameAddressAgain_SupersedesTheOlderClaimOnce()
    {
        var address = NewAddress();
        var first = new Counter();
        var second = new Counter();

        using var older = Claims.Claim(address, first.Increment);
        using var newer = Claims.Claim(address, second.Increment);

        Assert.Equal(1, first.Count);
        Assert.Equal(0, second.Count);

        using var newest = Claims.Claim(address, () => { });
        Assert.Equal(1, first.Count);
        Assert.Equal(1, second.Count);
    }

    [Fact]
    public void Claim_OtherAddressOrOtherDevice_LeavesTheFirstAlone()
    {
        var address = NewAddress("1");
        var first = new Counter();
        using var claim = Claims.Claim(address, first.Increment);

        using var otherAddress = Claims.Claim(NewAddress("1"), () => { });
        using var otherDevice = Claims.Claim(address[..^1] + "2", () => { });

        Assert.Equal(0, first.Count);
    }

    [Fact]
    public void Dispose_ThenClaimAgain_DoesNotCallTheReleasedClaim()
    {
        var address = NewAddress();
        var released = new Counter();
        var claim = Claims.Claim(address, released.Increment);

        claim.Dispose();
        claim.Dispose();
        using var next = Claims.Claim(address, () => { });

        Assert.Equal(0, released.Count);
    }

    [Fact]
    public void Dispose_SupersededClaim_DoesNotReleaseTheNewerOne()
    {
        var address = NewAddress();
        var older = Claims.Claim(address, () => { });
        var newerSuperseded = new Counter();
        using var newer = Claims.Claim(address, newerSuperseded.Increment);

        older.Dispose();
        using var newest = Claims.Claim(address, () => { });

        // The newer claim was still the address's claim after the older one was disposed: the newest supersedes it.
        Assert.Equal(1, newerSuperseded.Count);
    }

    [Fact]
    public async Task Claim_ManyAtOnce_AllButOneAreSuperseded()
    {
        const int Count = 50;
        var address = NewAddress();
        var superseded = new bool[Count];
        using var start = new Barrier(2);

        var claims = await Task.WhenAll(Enumerable.Range(0, 2).Select(half => Task.Run(() =>
        {
            start.SignalAndWait();
            return Enumerable.Range(half * (Count / 2), Count / 2)
                .Select(i => Claims.Claim(address, () => Volatile.Write(ref superseded[i], true)))
                .ToArray();
        })));

        Assert.Equal(Count - 1, superseded.Count(static s => s));
        foreach (var claim in claims.SelectMany(static c => c))
        {
            claim.Dispose();
        }
    }

    private sealed class Counter
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Increment() => Interlocked.Increment(ref _count);
    }
}
