using Self.Device;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;
using Self.Sdk.Authentication;

namespace Self.EndToEnd.Tests.Device;

/// <summary>Each history operation of a device, accepted by the real network and visible in its history and device list.</summary>
[Collection(NetworkCollection.Name)]
public sealed class HistoryOperationTests(NetworkFixture network) : IDisposable
{
    private readonly TempDirectory _storage = new("device-history");

    public void Dispose() => _storage.Dispose();

    [Fact]
    public async Task AddDeviceAsync_EnrolledOnItsOwnStore_BothDevicesActiveAndBothGetRequests()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        await using var first = await DeviceKit.RegisterAsync(network, _storage, "first");

        var enrollment = await first.AddDeviceAsync();
        await using var second = await SelfDevice.EnrollAsync(DeviceKit.Options(network, _storage, "second"), enrollment);

        Assert.Equal("2", enrollment.DeviceId);
        Assert.Equal(first.SelfId, second.SelfId);
        Assert.Equal("2", second.DeviceId);
        Assert.False(second.HoldsRecoveryKey);
        Assert.Equal(["1", "2"], (await first.GetDevicesAsync()).Order());
        var history = await DeviceKit.RestAs(network, app).GetHistoryAsync(first.SelfId);
        Assert.Equal(2, history.Count);
        Assert.Equal(first.KeyId, history[1].Header.Kid);
        Assert.Equal(second.KeyId, SignatureGraph.Load(history).CurrentDeviceKey("2")!.Kid);

        // The app's request reaches both devices; the second one answers.
        await second.ConnectAsync(app.AppId);
        var pending = client.Authentication.RequestAsync(first.SelfId);
        var atFirst = await first.NextRequestAsync();
        var atSecond = await second.NextRequestAsync();
        Assert.Equal(atFirst.ConversationId, atSecond.ConversationId);
        await atSecond.AcceptAsync();
        var response = await pending.WaitAsync(DeviceKit.Patience);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
        Assert.Equal("2", response.DeviceId);
    }

    [Fact]
    public async Task AddDeviceAsync_DeviceIdInUse_ThrowsAndHistoryUnchanged()
    {
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "in-use");

        await Assert.ThrowsAsync<ArgumentException>(() => device.AddDeviceAsync("1"));

        Assert.Single((await device.GetHistoryAsync()).Operations);
    }

    [Fact]
    public async Task EnrollAsync_IntoAFolderHoldingADevice_Throws()
    {
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "holder");
        var enrollment = await device.AddDeviceAsync("tablet");

        await Assert.ThrowsAsync<DeviceAlreadyExistsException>(() => SelfDevice.EnrollAsync(DeviceKit.Options(network, _storage, "holder"), enrollment));
    }

    [Fact]
    public async Task RotateKeyAsync_NewKeyCurrentOldRevoked_DeviceStillAnswersAndReopens()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        var options = DeviceKit.Options(network, _storage, "rotating", ConsentPolicies.AlwaysAccept);
        string selfId, newKid;
        await using (var device = await SelfDevice.RegisterAsync(options))
        {
            selfId = device.SelfId;
            await device.ConnectAsync(app.AppId);
            var oldKid = device.KeyId;

            await device.RotateKeyAsync();

            newKid = device.KeyId;
            Assert.NotEqual(oldKid, newKid);
            var history = SignatureGraph.Load(await DeviceKit.RestAs(network, app).GetHistoryAsync(selfId));
            Assert.Equal(2, history.Operations.Count);
            Assert.Equal(oldKid, history.Operations[1].Header.Kid);
            Assert.Equal(newKid, history.CurrentDeviceKey("1")!.Kid);
            Assert.False(history.FindKey(oldKid)!.IsActive);
            Assert.Equal(["1"], await device.GetDevicesAsync());

            // A new Olm account answers, signed with the new key.
            var response = await client.Authentication.RequestAsync(selfId).WaitAsync(DeviceKit.Patience);
            Assert.Equal(AuthenticationStatus.Accepted, response.Status);
        }

        await using var reopened = await SelfDevice.OpenAsync(options);
        Assert.Equal(newKid, reopened.KeyId);
        var again = await client.Authentication.RequestAsync(selfId).WaitAsync(DeviceKit.Patience);
        Assert.Equal(AuthenticationStatus.Accepted, again.Status);
    }

    [Fact]
    public async Task RotateKeyAsync_AnswerLostAndRetryRefused_RotationCompletes()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        using var lossy = new LossyHandler(loseOnce: IsHistoryPost, thenOffline: false);
        using var http = new HttpClient(lossy);
        var options = DeviceKit.Options(network, _storage, "lossy-rotation", ConsentPolicies.AlwaysAccept) with { HttpClient = http };
        await using var device = await SelfDevice.RegisterAsync(options);
        await device.ConnectAsync(app.AppId);
        var oldKid = device.KeyId;

        // The network takes the operation but its answer is lost; the retry is refused as out of sequence.
        await device.RotateKeyAsync();

        Assert.True(lossy.Lost);
        Assert.NotEqual(oldKid, device.KeyId);
        Assert.Equal(device.KeyId, (await device.GetHistoryAsync()).CurrentDeviceKey("1")!.Kid);
        var response = await client.Authentication.RequestAsync(device.SelfId).WaitAsync(DeviceKit.Patience);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
    }

    [Fact]
    public async Task RotateKeyAsync_NetworkGoneRightAfterItTookTheOperation_OpenAsyncCompletesTheRotation()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        using var lossy = new LossyHandler(loseOnce: IsHistoryPost, thenOffline: true);
        using var http = new HttpClient(lossy);
        var options = DeviceKit.Options(network, _storage, "interrupted-rotation", ConsentPolicies.AlwaysAccept);
        string oldKid;
        await using (var device = await SelfDevice.RegisterAsync(options with { HttpClient = http }))
        {
            await device.ConnectAsync(app.AppId);
            oldKid = device.KeyId;

            await Assert.ThrowsAnyAsync<Self.Protocol.SelfException>(() => device.RotateKeyAsync());
        }

        await using var reopened = await SelfDevice.OpenAsync(options);

        var history = await reopened.GetHistoryAsync();
        Assert.Equal(2, history.Operations.Count);
        Assert.NotEqual(oldKid, reopened.KeyId);
        Assert.Equal(reopened.KeyId, history.CurrentDeviceKey("1")!.Kid);
        var response = await client.Authentication.RequestAsync(reopened.SelfId).WaitAsync(DeviceKit.Patience);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
    }

    [Fact]
    public async Task RevokeDeviceAsync_RevokedDeviceCanNoLongerLogIn()
    {
        var app = await TestIdentities.CreateAppAsync(network);
        await using var first = await DeviceKit.RegisterAsync(network, _storage, "keeper");
        var secondOptions = DeviceKit.Options(network, _storage, "lost");
        string revokedKid;
        await using (var second = await SelfDevice.EnrollAsync(secondOptions, await first.AddDeviceAsync()))
        {
            revokedKid = second.KeyId;
        }

        await first.RevokeDeviceAsync("2");

        Assert.Equal(["1"], await first.GetDevicesAsync());
        var history = SignatureGraph.Load(await DeviceKit.RestAs(network, app).GetHistoryAsync(first.SelfId));
        Assert.Equal(3, history.Operations.Count);
        Assert.False(history.FindKey(revokedKid)!.IsActive);
        Assert.Null(history.CurrentDeviceKey("2"));
        var error = await Assert.ThrowsAsync<DeviceRevokedException>(() => SelfDevice.OpenAsync(secondOptions));
        Assert.Equal("device_revoked", error.ErrorCode);
        Assert.Equal("2", error.DeviceId);
    }

    [Fact]
    public async Task RevokeDeviceAsync_ItselfOrUnknownDevice_Throws()
    {
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "self-revoke");

        await Assert.ThrowsAsync<InvalidOperationException>(() => device.RevokeDeviceAsync(device.DeviceId));
        await Assert.ThrowsAsync<ArgumentException>(() => device.RevokeDeviceAsync("9"));

        Assert.Single((await device.GetHistoryAsync()).Operations);
    }

    [Fact]
    public async Task RecoverAsync_WithTheRecoveryKey_ReplacesEveryKeyAndOldDevicesStop()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        var lostOptions = DeviceKit.Options(network, _storage, "lost-phone");
        string selfId, recoveryKey, oldKid;
        await using (var lost = await SelfDevice.RegisterAsync(lostOptions))
        {
            (selfId, recoveryKey, oldKid) = (lost.SelfId, lost.ExportRecoveryKey(), lost.KeyId);
            await lost.ConnectAsync(app.AppId);
        }

        await using var recovered = await SelfDevice.RecoverAsync(
            DeviceKit.Options(network, _storage, "new-phone", ConsentPolicies.AlwaysReject), selfId, recoveryKey);

        Assert.Equal(selfId, recovered.SelfId);
        Assert.Equal("1", recovered.DeviceId);
        Assert.NotEqual(oldKid, recovered.KeyId);
        Assert.NotEqual(recoveryKey, recovered.ExportRecoveryKey());
        var history = SignatureGraph.Load(await DeviceKit.RestAs(network, app).GetHistoryAsync(selfId));
        Assert.Equal(2, history.Operations.Count);
        Assert.Equal(SigningKey.ParseSecret(recoveryKey).Kid, history.Operations[1].Header.Kid);
        Assert.Equal(recovered.KeyId, history.CurrentDeviceKey("1")!.Kid);
        Assert.Equal(SigningKey.ParseSecret(recovered.ExportRecoveryKey()).Kid, history.ActiveRecoveryKey!.Kid);
        Assert.False(history.FindKey(oldKid)!.IsActive);
        Assert.Equal(["1"], await recovered.GetDevicesAsync());

        await Assert.ThrowsAsync<DeviceRevokedException>(() => SelfDevice.OpenAsync(lostOptions));
        await Assert.ThrowsAsync<RecoveryFailedException>(() => SelfDevice.RecoverAsync(DeviceKit.Options(network, _storage, "thief"), selfId, recoveryKey));

        // The connection survives the recovery; the recovered device answers.
        var response = await client.Authentication.RequestAsync(selfId).WaitAsync(DeviceKit.Patience);
        Assert.Equal(AuthenticationStatus.Rejected, response.Status);
        Assert.Equal(recovered.DeviceId, response.DeviceId);
    }

    [Fact]
    public async Task RecoverAsync_NotTheRecoveryKey_ThrowsAndHistoryUnchanged()
    {
        await using var device = await DeviceKit.RegisterAsync(network, _storage, "owner");
        var options = DeviceKit.Options(network, _storage, "attacker");

        await Assert.ThrowsAsync<RecoveryFailedException>(() => SelfDevice.RecoverAsync(options, device.SelfId, SigningKey.Generate().ToSecret()));

        Assert.Single((await device.GetHistoryAsync()).Operations);
        Assert.False(File.Exists(Path.Combine(options.StorageDirectory, "self-device.vault")));
    }

    private static bool IsHistoryPost(HttpRequestMessage request) =>
        request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath.EndsWith("/history", StringComparison.Ordinal);

    /// <summary>Passes calls to the network; the answer to the first call <c>loseOnce</c> picks is lost after the network handled it.</summary>
    private sealed class LossyHandler(Func<HttpRequestMessage, bool> loseOnce, bool thenOffline) : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _lost;
        private volatile bool _offline;

        public bool Lost => Volatile.Read(ref _lost) == 1;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (_offline)
            {
                throw new HttpRequestException("the network is gone (test)");
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (loseOnce(request) && Interlocked.Exchange(ref _lost, 1) == 0)
            {
                response.Dispose();
                _offline = thenOffline;
                throw new HttpRequestException("the answer was lost on the way back (test)");
            }

            return response;
        }
    }
}
