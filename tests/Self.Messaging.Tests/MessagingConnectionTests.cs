using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using Self.Messaging.Tests.Infrastructure;
using Self.Protocol;
using Self.Protocol.Frames;
using Self.Protocol.Keys;

namespace Self.Messaging.Tests;

public sealed class MessagingConnectionTests(TestNetwork network) : IClassFixture<TestNetwork>
{
    [Fact]
    public async Task ConnectAsync_CurrentDeviceKey_AuthenticatesAndRaisesConnected()
    {
        var user = await network.RegisterUserAsync();
        var connected = 0;
        await using var connection = Connect(user, out _);
        connection.Connected += (_, _) => Interlocked.Increment(ref connected);

        await connection.ConnectAsync();

        Assert.Equal(ConnectionState.Connected, connection.State);
        Assert.Equal(1, connected);
    }

    [Fact]
    public async Task ConnectAsync_KeyNotInHistory_ThrowsAuthenticationFailedAndStops()
    {
        var user = await network.RegisterUserAsync();
        var impostor = user with { DeviceKey = SigningKey.FromSeed(user.DeviceKey.Kid, SigningKey.Generate().Seed) };
        await using var connection = Connect(impostor, out _);

        var error = await Assert.ThrowsAsync<AuthenticationFailedException>(() => connection.ConnectAsync());

        Assert.False(string.IsNullOrWhiteSpace(error.Reason));
        Assert.Equal("authentication_failed", error.ErrorCode);
        Assert.Equal(ConnectionState.Failed, connection.State);
        await Assert.ThrowsAsync<AuthenticationFailedException>(() => connection.SendAsync(Frame(user.Address.ToString(), user.Address.ToString(), "x")));
    }

    [Fact]
    public async Task ConnectAsync_AnotherDevicesKey_IsRefused()
    {
        var user = await network.RegisterUserAsync();
        var rest = network.RestFor(user);
        var graph = Protocol.KeyHistory.SignatureGraph.Load(await rest.GetHistoryAsync(user.Id));
        var secondKey = SigningKey.Generate();
        await rest.AppendHistoryAsync(Protocol.KeyHistory.HistoryOperations.AddDevice(graph, user.DeviceKey, secondKey, "2", TimeProvider.System.GetUtcNow()));
        await rest.RegisterDeviceAsync("2", "test");

        // Device 1's key trying to log in as device 2.
        await using var connection = Connect(user with { DeviceId = "2" }, out _);

        await Assert.ThrowsAsync<AuthenticationFailedException>(() => connection.ConnectAsync());
    }

    [Fact]
    public async Task SendAsync_ToApp_CompletesOnAckAndAppReceivesIt()
    {
        var user = await network.RegisterUserAsync();
        var app = await network.CreateAppAsync();
        await using var sender = Connect(user, out _);
        await using var receiver = Connect(app, out var incoming);
        await sender.ConnectAsync();
        await receiver.ConnectAsync();

        await sender.SendAsync(Frame(user.Address.ToString(), app.Address.ToString(), "hello app"));

        var frame = await ReadAsync(incoming);
        Assert.Equal("hello app", Encoding.UTF8.GetString(frame.Ciphertext.Span));
        Assert.Equal(user.Address.ToString(), frame.Sender);
        Assert.True(frame.Offset > 0);
    }

    [Fact]
    public async Task SendAsync_SameIdToSeveralRecipients_EachGetsItsOwnAnswerInOrder()
    {
        var user = await network.RegisterUserAsync();
        var app = await network.CreateAppAsync();
        var stranger = await network.RegisterUserAsync();
        await using var sender = Connect(app, out _);
        await sender.ConnectAsync();
        await network.PermitAsync(user, app.Id);
        var id = Guid.NewGuid().ToString();

        var accepted = sender.SendAsync(Frame(app.Address.ToString(), user.Address.ToString(), "a") with { Id = id });
        var refused = sender.SendAsync(Frame(app.Address.ToString(), stranger.Address.ToString(), "b") with { Id = id });

        await accepted;
        var error = await Assert.ThrowsAsync<MessageRefusedException>(() => refused);
        Assert.True(error.IsNotConnected);
    }

    [Fact]
    public async Task SendAsync_ToUnconnectedUser_ThrowsRefusedWithServerReason()
    {
        var user = await network.RegisterUserAsync();
        var app = await network.CreateAppAsync();
        await using var connection = Connect(app, out _);
        await connection.ConnectAsync();

        var error = await Assert.ThrowsAsync<MessageRefusedException>(
            () => connection.SendAsync(Frame(app.Address.ToString(), user.Address.ToString(), "hi")));

        Assert.Equal(ErrType.ErrMessage, error.ErrorType);
        Assert.Contains($"recipient {user.Id} has not connected to {app.Id}", error.Reason);
        Assert.True(error.IsNotConnected);
        Assert.Null(error.RetryAfter);
        Assert.Equal(ConnectionState.Connected, connection.State);
    }

    [Fact]
    public async Task SendAsync_ForgedSender_IsRefusedAndConnectionCarriesOn()
    {
        var user = await network.RegisterUserAsync();
        var other = await network.RegisterUserAsync();
        var app = await network.CreateAppAsync();
        await using var connection = Connect(user, out _);
        await connection.ConnectAsync();

        var error = await Assert.ThrowsAsync<MessageRefusedException>(
            () => connection.SendAsync(Frame(other.Address.ToString(), app.Address.ToString(), "forged")));
        Assert.Equal(ErrType.ErrMessage, error.ErrorType);

        await connection.SendAsync(Frame(user.Address.ToString(), app.Address.ToString(), "honest"));
    }

    [Fact]
    public async Task SendAsync_FrameOverOneMebibyte_IsRefusedBeforeSending()
    {
        var user = await network.RegisterUserAsync();
        var app = await network.CreateAppAsync();
        await using var sender = Connect(user, out _);
        await using var receiver = Connect(app, out var incoming);
        await sender.ConnectAsync();
        await receiver.ConnectAsync();
        var big = new MessageFrame(
            Id: Guid.NewGuid().ToString(), Subtype: MsgSubType.Unknown, Sender: user.Address.ToString(), Recipient: app.Address.ToString(),
            Ciphertext: new byte[1024 * 1024]);

        var error = await Assert.ThrowsAsync<MessageRefusedException>(() => sender.SendAsync(big));

        Assert.Equal(ErrType.ErrBadRequest, error.ErrorType);
        Assert.Contains("1048576", error.Reason);
        await sender.SendAsync(Frame(user.Address.ToString(), app.Address.ToString(), "small"));
        Assert.Equal("small", Encoding.UTF8.GetString((await ReadAsync(incoming)).Ciphertext.Span));
    }

    [Fact]
    public async Task SecondConnection_SameAddress_SupersedesFirstWhichDoesNotReconnect()
    {
        var user = await network.RegisterUserAsync();
        var app = await network.CreateAppAsync();
        var disconnected = new TaskCompletionSource<MessagingDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var first = Connect(user, out _);
        first.Disconnected += (_, e) => disconnected.TrySetResult(e);
        await first.ConnectAsync();

        await using var second = Connect(user, out _);
        await second.ConnectAsync();

        var args = await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(args.Superseded);
        Assert.False(args.WillReconnect);
        Assert.Equal(ConnectionState.Superseded, first.State);
        await Assert.ThrowsAsync<ConnectionLostException>(() => first.SendAsync(Frame(user.Address.ToString(), app.Address.ToString(), "x")));

        // The second one keeps the address: no reconnect fight took it back.
        await second.SendAsync(Frame(user.Address.ToString(), app.Address.ToString(), "still here"));
        Assert.Equal(ConnectionState.Connected, second.State);
        Assert.Equal(ConnectionState.Superseded, first.State);
    }

    [Fact]
    public async Task ConnectAsync_ProcessedOffset_ServerSendsOnlyNewerMessages()
    {
        var user = await network.RegisterUserAsync();
        var app = await network.CreateAppAsync();
        await using var sender = Connect(user, out _);
        await sender.ConnectAsync();
        for (var i = 1; i <= 3; i++)
        {
            await sender.SendAsync(Frame(user.Address.ToString(), app.Address.ToString(), "m" + i));
        }

        var offsets = new List<long>();
        await using (var first = Connect(app, out var all))
        {
            await first.ConnectAsync();
            for (var i = 0; i < 3; i++)
            {
                offsets.Add((await ReadAsync(all)).Offset);
            }
        }

        Assert.Equal(offsets.Order(), offsets);
        await using var second = Connect(app, out var newer);
        second.AdvanceProcessedOffset(offsets[1]);
        second.AdvanceProcessedOffset(offsets[0]);
        Assert.Equal(offsets[1], second.ProcessedOffset);
        await second.ConnectAsync();

        var next = await ReadAsync(newer);
        Assert.Equal("m3", Encoding.UTF8.GetString(next.Ciphertext.Span));
        Assert.Equal(offsets[2], next.Offset);
    }

    private MessagingConnection Connect(TestIdentity identity, out ChannelReader<MessageFrame> incoming)
    {
        var channel = Channel.CreateUnbounded<MessageFrame>();
        incoming = channel.Reader;
        return new MessagingConnection(
            new MessagingConnectionOptions
            {
                MessagingUri = network.MessagingUrl,
                IdentityId = identity.Id,
                DeviceId = identity.DeviceId,
                SigningKey = identity.DeviceKey,
                InitialConnectRetries = 0,
                ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
                ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
            },
            (frame, _) =>
            {
                channel.Writer.TryWrite(frame);
                return ValueTask.CompletedTask;
            });
    }

    internal static MessageFrame Frame(string sender, string recipient, string body) => new(
        Id: Guid.NewGuid().ToString(), Subtype: MsgSubType.Unknown, Sender: sender, Recipient: recipient,
        Ciphertext: Encoding.UTF8.GetBytes(body));

    internal static async Task<MessageFrame> ReadAsync(ChannelReader<MessageFrame> reader)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await reader.ReadAsync(cts.Token);
    }
}
