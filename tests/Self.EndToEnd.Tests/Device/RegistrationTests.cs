using System.Net;
using System.Text;
using Self.Device;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Messaging;
using Self.Protocol;
using Self.Protocol.Encoding;
using Self.Protocol.Identifiers;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;

namespace Self.EndToEnd.Tests.Device;

/// <summary>Registering a user's device on a real network, and opening it again from its encrypted folder.</summary>
[Collection(NetworkCollection.Name)]
public sealed class RegistrationTests(NetworkFixture network) : IDisposable
{
    private readonly TempDirectory _storage = new("device-registration");

    public void Dispose() => _storage.Dispose();

    [Fact]
    public async Task RegisterAsync_NoWantedId_NetworkKnowsTheIdentityItsDeviceAndOneTimeKeys()
    {
        var app = await TestIdentities.CreateAppAsync(network);
        var rest = DeviceKit.RestAs(network, app);

        await using var device = await DeviceKit.RegisterAsync(network, _storage, "phone");

        Assert.True(SelfIds.IsUserId(device.SelfId));
        Assert.Equal(11, device.SelfId.Length);
        Assert.Equal("1", device.DeviceId);
        Assert.True(device.HoldsRecoveryKey);

        // The root operation, as anyone reads it: signed by the device key, adding it and a recovery key.
        var history = SignatureGraph.Load(await rest.GetHistoryAsync(device.SelfId));
        var root = Assert.Single(history.Operations);
        Assert.Equal(device.KeyId, root.Header.Kid);
        Assert.Equal(device.KeyId, history.CurrentDeviceKey("1")!.Kid);
        var recovery = SigningKey.ParseSecret(device.ExportRecoveryKey());
        Assert.Equal(recovery.Kid, history.ActiveRecoveryKey!.Kid);
        Assert.Equal(recovery.PublicKey, history.ActiveRecoveryKey.PublicKey);
        Assert.Equal(["1"], await device.GetDevicesAsync());

        // Once connected, the app may take one of the device's published one-time keys.
        var refused = await Assert.ThrowsAsync<SelfApiException>(() => rest.PopPreKeyAsync(device.SelfId, "1"));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        await device.ConnectAsync(app.AppId);
        var preKey = await rest.PopPreKeyAsync(device.SelfId, "1");
        Assert.False(string.IsNullOrEmpty(preKey.Key));
    }

    [Fact]
    public async Task RegisterAsync_WantedId_GetsThatId()
    {
        var wanted = DeviceKit.FreshSelfId();
        var rest = DeviceKit.RestAs(network, await TestIdentities.CreateAppAsync(network));

        await using var device = await SelfDevice.RegisterAsync(DeviceKit.Options(network, _storage, "wanted"), wanted);

        Assert.Equal(wanted, device.SelfId);
        var identity = await rest.GetIdentityAsync(wanted);
        Assert.Equal("individual", identity.Type);
        Assert.Equal(device.KeyId, SignatureGraph.Load(identity.History).CurrentDeviceKey("1")!.Kid);
    }

    [Fact]
    public async Task RegisterAsync_WantedIdTaken_ThrowsSelfIdTakenAndKeepsNothing()
    {
        var wanted = DeviceKit.FreshSelfId();
        await using var first = await SelfDevice.RegisterAsync(DeviceKit.Options(network, _storage, "first"), wanted);
        var secondOptions = DeviceKit.Options(network, _storage, "second");

        var error = await Assert.ThrowsAsync<SelfIdTakenException>(() => SelfDevice.RegisterAsync(secondOptions, wanted));

        Assert.Equal("self_id_taken", error.ErrorCode);
        Assert.Equal(wanted, error.SelfId);
        Assert.Contains(wanted, error.Message);
        Assert.False(Directory.Exists(secondOptions.StorageDirectory) && Directory.EnumerateFiles(secondOptions.StorageDirectory).Any());
        await Assert.ThrowsAsync<DeviceNotFoundException>(() => SelfDevice.OpenAsync(secondOptions));
        // The first owner is untouched.
        Assert.Equal(first.KeyId, (await first.GetHistoryAsync()).CurrentDeviceKey("1")!.Kid);
    }

    [Fact]
    public async Task RegisterAsync_NotASelfId_ThrowsArgumentException()
    {
        var options = DeviceKit.Options(network, _storage, "bad-id");

        await Assert.ThrowsAsync<ArgumentException>(() => SelfDevice.RegisterAsync(options, "12ab"));

        Assert.False(Directory.Exists(options.StorageDirectory));
    }

    [Fact]
    public async Task RegisterAsync_FolderAlreadyHoldsADevice_ThrowsAndKeepsTheFirst()
    {
        var options = DeviceKit.Options(network, _storage, "taken-folder");
        string selfId;
        await using (var first = await SelfDevice.RegisterAsync(options))
        {
            selfId = first.SelfId;
        }

        await Assert.ThrowsAsync<DeviceAlreadyExistsException>(() => SelfDevice.RegisterAsync(options));

        await using var reopened = await SelfDevice.OpenAsync(options);
        Assert.Equal(selfId, reopened.SelfId);
    }

    [Fact]
    public async Task OpenAsync_AfterDispose_SameIdentityKeyAndRecoveryKey()
    {
        var options = DeviceKit.Options(network, _storage, "reopen");
        string selfId, keyId, recovery;
        await using (var registered = await SelfDevice.RegisterAsync(options))
        {
            (selfId, keyId, recovery) = (registered.SelfId, registered.KeyId, registered.ExportRecoveryKey());
        }

        await using var device = await SelfDevice.OpenAsync(options with { DeviceId = null });

        Assert.Equal(selfId, device.SelfId);
        Assert.Equal("1", device.DeviceId);
        Assert.Equal(keyId, device.KeyId);
        Assert.Equal(recovery, device.ExportRecoveryKey());
        Assert.Equal(["1"], await device.GetDevicesAsync());
    }

    [Fact]
    public async Task OpenAsync_WrongStorageKey_ThrowsStorageKeyExceptionAndTheRightKeyStillOpens()
    {
        var options = DeviceKit.Options(network, _storage, "wrong-key");
        await (await SelfDevice.RegisterAsync(options)).DisposeAsync();

        var error = await Assert.ThrowsAsync<StorageKeyException>(() => SelfDevice.OpenAsync(options with { StorageKey = "not-the-key" }));

        Assert.Contains("storage key", error.Message);
        await using var device = await SelfDevice.OpenAsync(options);
        Assert.True(SelfIds.IsUserId(device.SelfId));
    }

    [Fact]
    public async Task OpenAsync_EmptyFolder_ThrowsDeviceNotFound()
    {
        var error = await Assert.ThrowsAsync<DeviceNotFoundException>(() => SelfDevice.OpenAsync(DeviceKit.Options(network, _storage, "nothing-here")));

        Assert.Contains("RegisterAsync", error.Message);
    }

    [Fact]
    public async Task OpenAsync_OtherDeviceIdThanStored_ThrowsArgumentException()
    {
        var options = DeviceKit.Options(network, _storage, "device-id");
        await (await SelfDevice.RegisterAsync(options)).DisposeAsync();

        var error = await Assert.ThrowsAsync<ArgumentException>(() => SelfDevice.OpenAsync(options with { DeviceId = "7" }));

        Assert.Contains("'7'", error.Message);
    }

    [Fact]
    public void Options_ToString_HidesTheStorageKey()
    {
        var options = DeviceKit.Options(network, _storage, "printed") with { StorageKey = "very-secret-storage-key" };

        var text = options.ToString();

        Assert.DoesNotContain("very-secret-storage-key", text);
        Assert.Contains(options.StorageDirectory, text);
    }

    [Fact]
    public async Task OpenAsync_DamagedDeviceFile_ThrowsAClearError()
    {
        var options = DeviceKit.Options(network, _storage, "damaged");
        await (await SelfDevice.RegisterAsync(options)).DisposeAsync();
        var file = Path.Combine(options.StorageDirectory, "self-device.vault");
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[^1] ^= 0x01;
        await File.WriteAllBytesAsync(file, bytes);

        var error = await Assert.ThrowsAsync<StorageKeyException>(() => SelfDevice.OpenAsync(options));

        Assert.Contains("damaged", error.Message);
    }

    [Fact]
    public async Task RegisterAsync_SecretsOnDisk_NeverInPlaintext()
    {
        var options = DeviceKit.Options(network, _storage, "secrets");
        string deviceSeed, recoverySeed;
        await using (var device = await SelfDevice.RegisterAsync(options))
        {
            recoverySeed = device.ExportRecoveryKey().Split(':')[1];
            var enrollment = await device.AddDeviceAsync();
            deviceSeed = enrollment.DeviceSecret.Split(':')[1];
            Assert.DoesNotContain(deviceSeed, enrollment.ToString());
        }

        var bytes = Directory.EnumerateFiles(options.StorageDirectory, "*", SearchOption.AllDirectories).SelectMany(File.ReadAllBytes).ToArray();
        var text = Encoding.Latin1.GetString(bytes);
        Assert.NotEmpty(bytes);
        Assert.DoesNotContain(recoverySeed, text);
        Assert.DoesNotContain(Convert.ToHexString(Base64Codec.Decode(recoverySeed)), Convert.ToHexString(bytes));
    }
}
