using Self.Device;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Sdk;
using Self.Sdk.Authentication;

namespace Self.EndToEnd.Tests.Sdk;

/// <summary>Number matching (spec §9a) from the app SDK through the network to a real device and back.</summary>
[Collection(NetworkCollection.Name)]
public sealed class NumberMatchingTests(NetworkFixture network) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly AuthenticationRequestOptions WithNumber = new() { NumberMatching = true };
    private readonly TempDirectory _storage = new("sdk-number");

    public void Dispose() => _storage.Dispose();

    [Fact]
    public async Task StartAsync_PersonTypesTheShownNumber_Accepted()
    {
        var (client, device, requests) = await ConnectedPairAsync();
        await using var _ = client;
        await using var __ = device;

        var challenge = await client.Authentication.StartAsync(device.SelfId, WithNumber);
        var request = await requests.ReadAsync(Patience);

        Assert.NotNull(challenge.Number);
        Assert.Matches("^[0-9]{2}$", challenge.Number);
        Assert.True(request.RequiresNumber);
        // The number itself never travels: no claim carries it, only its salted hash.
        using (var claims = System.Text.Json.JsonDocument.Parse(RequestText(request)))
        {
            Assert.True(claims.RootElement.TryGetProperty("number_match", out var hashed) && hashed.ValueKind == System.Text.Json.JsonValueKind.Object);
            Assert.False(claims.RootElement.TryGetProperty("number", out var plain) && plain.ValueKind != System.Text.Json.JsonValueKind.Undefined);
            Assert.DoesNotContain(
                claims.RootElement.EnumerateObject(),
                p => p.Value.ValueKind == System.Text.Json.JsonValueKind.String && p.Value.GetString() == challenge.Number);
        }

        await request.AcceptAsync(challenge.Number!);
        var response = await client.Authentication.WaitForResponseAsync(challenge.ConversationId).WaitAsync(Patience);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
        Assert.Equal(device.SelfId, response.SelfId);
    }

    [Fact]
    public async Task AcceptWithoutNumber_RequiresNumber_ThrowsAndSendsNothing()
    {
        var (client, device, requests) = await ConnectedPairAsync();
        await using var _ = client;
        await using var __ = device;

        var challenge = await client.Authentication.StartAsync(device.SelfId, WithNumber);
        var request = await requests.ReadAsync(Patience);

        var error = await Assert.ThrowsAsync<NumberMismatchException>(() => request.AcceptAsync());
        Assert.Equal("number_mismatch", error.ErrorCode);
        Assert.Null(request.Answer);
        // Had the refused accept gone out (accepted, no number), the app would already have ended the request rejected.
        await request.AcceptAsync(challenge.Number!);
        var response = await client.Authentication.WaitForResponseAsync(challenge.ConversationId).WaitAsync(Patience);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
    }

    [Fact]
    public async Task WrongNumber_ThenRight_OnlyTheRightOneIsSent()
    {
        var (client, device, requests) = await ConnectedPairAsync();
        await using var _ = client;
        await using var __ = device;

        var challenge = await client.Authentication.StartAsync(device.SelfId, WithNumber);
        var request = await requests.ReadAsync(Patience);
        var wrong = Other(challenge.Number!);

        var error = await Assert.ThrowsAsync<NumberMismatchException>(() => request.AcceptAsync(wrong));
        Assert.Equal(NumberMismatchException.MaxAttempts - 1, error.AttemptsLeft);
        Assert.Null(request.Answer);
        await request.AcceptAsync(challenge.Number!);

        var response = await client.Authentication.WaitForResponseAsync(challenge.ConversationId).WaitAsync(Patience);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
    }

    [Fact]
    public async Task TooManyWrongNumbers_DeviceRejects_AppSeesRejected()
    {
        var (client, device, requests) = await ConnectedPairAsync();
        await using var _ = client;
        await using var __ = device;

        var challenge = await client.Authentication.StartAsync(device.SelfId, WithNumber);
        var request = await requests.ReadAsync(Patience);
        var wrong = Other(challenge.Number!);
        NumberMismatchException? last = null;
        for (var i = 0; i < NumberMismatchException.MaxAttempts; i++)
        {
            last = await Assert.ThrowsAsync<NumberMismatchException>(() => request.AcceptAsync(wrong));
        }

        Assert.Equal(0, last!.AttemptsLeft);
        Assert.Equal(RequestAnswer.Rejected, request.Answer);
        await Assert.ThrowsAsync<RequestAlreadyAnsweredException>(() => request.AcceptAsync(challenge.Number!));
        var response = await client.Authentication.WaitForResponseAsync(challenge.ConversationId).WaitAsync(Patience);
        Assert.Equal(AuthenticationStatus.Rejected, response.Status);
    }

    [Fact]
    public async Task DeviceIgnoresNumberMatching_AcceptedWithoutNumber_AppEndsItRejected()
    {
        var (client, device, requests) = await ConnectedPairAsync();
        await using var _ = client;
        await using var __ = device;

        var challenge = await client.Authentication.StartAsync(device.SelfId, WithNumber);
        var request = await requests.ReadAsync(Patience);
        // What a device that does not know number matching sends: accepted, no number.
        await device.AnswerAsync(request, RequestAnswer.Accepted, byPolicy: false, CancellationToken.None);

        var response = await client.Authentication.WaitForResponseAsync(challenge.ConversationId).WaitAsync(Patience);
        Assert.Equal(AuthenticationStatus.Rejected, response.Status);
        Assert.Contains("without number matching", response.Reason);
    }

    [Fact]
    public async Task DeviceSendsAnotherNumber_AppEndsItRejected()
    {
        var (client, device, requests) = await ConnectedPairAsync();
        await using var _ = client;
        await using var __ = device;

        var challenge = await client.Authentication.StartAsync(device.SelfId, WithNumber);
        var request = await requests.ReadAsync(Patience);
        // A faulty or hostile device that skips its own check and signs another number.
        await device.AnswerAsync(request, RequestAnswer.Accepted, byPolicy: false, CancellationToken.None, Other(challenge.Number!));

        var response = await client.Authentication.WaitForResponseAsync(challenge.ConversationId).WaitAsync(Patience);
        Assert.Equal(AuthenticationStatus.Rejected, response.Status);
        Assert.Contains("does not match", response.Reason);
    }

    [Fact]
    public async Task AutoAcceptPolicy_NumberRequest_IsLeftToThePerson()
    {
        var (client, device, requests) = await ConnectedPairAsync(ConsentPolicies.AlwaysAccept);
        await using var _ = client;
        await using var __ = device;

        var challenge = await client.Authentication.StartAsync(device.SelfId, WithNumber);
        var request = await requests.ReadAsync(Patience);

        Assert.True(request.RequiresNumber);
        Assert.Null(request.Answer);
        await request.AcceptAsync(challenge.Number!);
        var response = await client.Authentication.WaitForResponseAsync(challenge.ConversationId).WaitAsync(Patience);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
    }

    [Fact]
    public async Task WithoutNumberMatching_StartAsync_NoNumberAndPlainAcceptWorks()
    {
        var (client, device, requests) = await ConnectedPairAsync();
        await using var _ = client;
        await using var __ = device;

        var challenge = await client.Authentication.StartAsync(device.SelfId);
        var request = await requests.ReadAsync(Patience);

        Assert.Null(challenge.Number);
        Assert.False(request.RequiresNumber);
        Assert.DoesNotContain("number_match", RequestText(request));
        await request.AcceptAsync();
        var response = await client.Authentication.WaitForResponseAsync(challenge.ConversationId).WaitAsync(Patience);
        Assert.Equal(AuthenticationStatus.Accepted, response.Status);
    }

    [Fact]
    public async Task ClientWideDefault_StartAsync_UsesNumberMatching()
    {
        var app = await TestIdentities.CreateAppAsync(network);
        await using var client = new SelfClient(TestIdentities.ClientOptions(network, app, _storage) with { NumberMatching = true });
        await client.StartAsync();
        await using var device = await TestDevices.RegisterAsync(network, _storage, ConsentPolicies.Ask);
        await device.ConnectAsync(app.AppId);
        var requests = new RequestReader(device);

        var challenge = await client.Authentication.StartAsync(device.SelfId);
        var request = await requests.ReadAsync(Patience);

        Assert.NotNull(challenge.Number);
        Assert.True(request.RequiresNumber);
        await request.RejectAsync();
        var response = await client.Authentication.WaitForResponseAsync(challenge.ConversationId).WaitAsync(Patience);
        Assert.Equal(AuthenticationStatus.Rejected, response.Status);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AppRestarts_BetweenRequestAndAnswer_NumberStillChecked(bool rightNumber)
    {
        var app = await TestIdentities.CreateAppAsync(network);
        var options = TestIdentities.ClientOptions(network, app, _storage);
        await using var device = await TestDevices.RegisterAsync(network, _storage, ConsentPolicies.Ask);
        await device.ConnectAsync(app.AppId);
        var requests = new RequestReader(device);

        AuthenticationChallenge challenge;
        await using (var before = new SelfClient(options))
        {
            await before.StartAsync();
            challenge = await before.Authentication.StartAsync(device.SelfId, WithNumber);
        }

        // The app is down while the person answers; the number it must check comes back from its encrypted store.
        var request = await requests.ReadAsync(Patience);
        var sent = rightNumber ? challenge.Number! : Other(challenge.Number!);
        await device.AnswerAsync(request, RequestAnswer.Accepted, byPolicy: false, CancellationToken.None, sent);

        await using var after = new SelfClient(options);
        var delivered = new TaskCompletionSource<AuthenticationResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = after.Authentication.Subscribe(r => delivered.TrySetResult(r));
        await after.StartAsync();

        var response = await delivered.Task.WaitAsync(Patience);
        Assert.Equal(challenge.ConversationId, response.ConversationId);
        Assert.Equal(rightNumber ? AuthenticationStatus.Accepted : AuthenticationStatus.Rejected, response.Status);
    }

    [Fact]
    public async Task OtherStyles_AskedForNumberMatching_RefuseWithClearError()
    {
        var (_, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var __ = client;

        var blocking = await Assert.ThrowsAsync<ArgumentException>(() => client.Authentication.RequestAsync("1112223334", WithNumber));
        await Assert.ThrowsAsync<ArgumentException>(() => client.Authentication.SendAsync("1112223334", WithNumber));
        await Assert.ThrowsAsync<ArgumentException>(() => client.Authentication.RequestAsync("1112223334", _ => { }, WithNumber));
        Assert.Contains("StartAsync", blocking.Message);
    }

    private async Task<(SelfClient Client, SelfDevice Device, RequestReader Requests)> ConnectedPairAsync(IConsentPolicy? policy = null)
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        var device = await TestDevices.RegisterAsync(network, _storage, policy ?? ConsentPolicies.Ask);
        await device.ConnectAsync(app.AppId);
        return (client, device, new RequestReader(device));
    }

    private static string Other(string number) => ((int.Parse(number, System.Globalization.CultureInfo.InvariantCulture) + 1) % 100).ToString("D2", System.Globalization.CultureInfo.InvariantCulture);

    private static string RequestText(IncomingRequest request) =>
        System.Text.Encoding.UTF8.GetString(Self.Protocol.Encoding.Base64Codec.Decode(request.Jws.Payload));

    /// <summary>Reads the device's requests from the start, so none is missed.</summary>
    private sealed class RequestReader
    {
        private readonly IAsyncEnumerator<IncomingRequest> _requests;

        public RequestReader(SelfDevice device) => _requests = device.ReadRequestsAsync().GetAsyncEnumerator();

        public async Task<IncomingRequest> ReadAsync(TimeSpan patience)
        {
            Assert.True(await _requests.MoveNextAsync().AsTask().WaitAsync(patience), "the device's request stream ended");
            return _requests.Current;
        }
    }
}
