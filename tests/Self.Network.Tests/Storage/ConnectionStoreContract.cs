using Self.Network.Storage;
using Self.Protocol.Rest;

namespace Self.Network.Tests.Storage;

/// <summary>What every <see cref="IConnectionStore"/> must do.</summary>
public abstract class ConnectionStoreContract : StorageContract
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    private const string App = "0123456789abcdef0123456789abcdef";
    private const string OtherApp = "fedcba9876543210fedcba9876543210";

    [Fact]
    public async Task IsPermittedAsync_AfterPut_OnlyForThatSource()
    {
        var user = NewUserId();

        Assert.Equal(PutPermitResult.Stored, await Backend.Connections.PutAsync(Permit(user, App, Now.AddDays(1), Now)));

        Assert.True(await Backend.Connections.IsPermittedAsync(user, App, Now));
        Assert.False(await Backend.Connections.IsPermittedAsync(user, OtherApp, Now));
        Assert.False(await Backend.Connections.IsPermittedAsync(NewUserId(), App, Now));
    }

    [Fact]
    public async Task IsPermittedAsync_WildcardPermit_AllowsEveryone()
    {
        var user = NewUserId();
        await Backend.Connections.PutAsync(Permit(user, "*", Now.AddDays(1), Now));

        Assert.True(await Backend.Connections.IsPermittedAsync(user, App, Now));
        Assert.True(await Backend.Connections.IsPermittedAsync(user, NewUserId(), Now));
    }

    [Fact]
    public async Task IsPermittedAsync_LapsedPermit_IsNotInForceNorListed()
    {
        var user = NewUserId();
        await Backend.Connections.PutAsync(Permit(user, App, Now.AddMinutes(5), Now));

        Assert.True(await Backend.Connections.IsPermittedAsync(user, App, Now.AddMinutes(4)));
        Assert.False(await Backend.Connections.IsPermittedAsync(user, App, Now.AddMinutes(5)));
        Assert.Empty(await Backend.Connections.ListAsync(user, Now.AddMinutes(6)));
    }

    [Fact]
    public async Task ListAsync_SeveralPermits_OrderedBySourceWithTheirTimes()
    {
        var user = NewUserId();
        await Backend.Connections.PutAsync(Permit(user, OtherApp, Now.AddDays(2), Now));
        await Backend.Connections.PutAsync(Permit(user, App, Now.AddDays(1), Now));

        var permits = await Backend.Connections.ListAsync(user, Now);

        Assert.Equal([Permit(user, App, Now.AddDays(1), Now), Permit(user, OtherApp, Now.AddDays(2), Now)], permits);
    }

    [Fact]
    public async Task PutAsync_NewerPermitForSameSource_ReplacesTheOld()
    {
        var user = NewUserId();
        await Backend.Connections.PutAsync(Permit(user, App, Now.AddDays(1), Now));

        Assert.Equal(PutPermitResult.Stored, await Backend.Connections.PutAsync(Permit(user, App, Now.AddDays(3), Now.AddSeconds(1))));

        Assert.Equal([Permit(user, App, Now.AddDays(3), Now.AddSeconds(1))], await Backend.Connections.ListAsync(user, Now));
    }

    [Fact]
    public async Task PutAsync_OlderThanStoredPermit_IsStaleAndChangesNothing()
    {
        var user = NewUserId();
        await Backend.Connections.PutAsync(Permit(user, App, Now.AddDays(1), Now));

        Assert.Equal(PutPermitResult.Stale, await Backend.Connections.PutAsync(Permit(user, App, Now.AddDays(9), Now.AddSeconds(-1))));

        Assert.Equal([Permit(user, App, Now.AddDays(1), Now)], await Backend.Connections.ListAsync(user, Now));
    }

    [Fact]
    public async Task RevokeAsync_PermitInForce_StopsIt()
    {
        var user = NewUserId();
        await Backend.Connections.PutAsync(Permit(user, App, Now.AddDays(1), Now));

        Assert.Equal(RevokePermitResult.Revoked, await Backend.Connections.RevokeAsync(user, App, Now.AddSeconds(1), Now));

        Assert.False(await Backend.Connections.IsPermittedAsync(user, App, Now));
        Assert.Empty(await Backend.Connections.ListAsync(user, Now));
        Assert.Equal(RevokePermitResult.NotFound, await Backend.Connections.RevokeAsync(user, App, Now.AddSeconds(2), Now));
    }

    [Fact]
    public async Task PutAsync_PermitOlderThanARevoke_CannotReviveIt()
    {
        var user = NewUserId();
        await Backend.Connections.PutAsync(Permit(user, App, Now.AddDays(1), Now));
        await Backend.Connections.RevokeAsync(user, App, Now.AddSeconds(10), Now);

        Assert.Equal(PutPermitResult.Stale, await Backend.Connections.PutAsync(Permit(user, App, Now.AddDays(1), Now)));
        Assert.False(await Backend.Connections.IsPermittedAsync(user, App, Now));

        Assert.Equal(PutPermitResult.Stored, await Backend.Connections.PutAsync(Permit(user, App, Now.AddDays(1), Now.AddSeconds(11))));
        Assert.True(await Backend.Connections.IsPermittedAsync(user, App, Now));
    }

    [Fact]
    public async Task RevokeAsync_OlderThanThePermit_IsStale()
    {
        var user = NewUserId();
        await Backend.Connections.PutAsync(Permit(user, App, Now.AddDays(1), Now));

        Assert.Equal(RevokePermitResult.Stale, await Backend.Connections.RevokeAsync(user, App, Now.AddSeconds(-5), Now));
        Assert.True(await Backend.Connections.IsPermittedAsync(user, App, Now));
    }

    [Fact]
    public async Task RevokeAsync_NoPermit_ReturnsNotFound()
    {
        Assert.Equal(RevokePermitResult.NotFound, await Backend.Connections.RevokeAsync(NewUserId(), App, Now, Now));
    }

    private static StoredPermit Permit(string user, string source, DateTimeOffset expires, DateTimeOffset issued) =>
        new(user, new ConnectionPermit(source, expires), issued);
}
