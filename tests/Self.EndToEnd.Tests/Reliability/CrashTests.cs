using Self.EndToEnd.Tests.Infrastructure;
using Self.Messaging;
using Self.Protocol.Messages;
using Self.Sdk;
using Self.Sdk.Apps;

namespace Self.EndToEnd.Tests.Reliability;

/// <summary>A message acknowledged is a message stored: a server killed with SIGKILL loses nothing it acknowledged.</summary>
public sealed class CrashTests : IDisposable
{
    private const string AdminToken = "crash-test-admin-token-0123456789";
    private readonly TempDirectory _dir = new("crash");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ServerKilled_AfterAcknowledging_DeliversEveryRequestAfterRestart()
    {
        await using var server = new ServerProcess(_dir.Sub("network"), AdminToken);
        await server.StartAsync();

        var app = await SelfApps.CreateAsync(server.ApiUrl, AdminToken, "Crash App");
        var user = await TestIdentities.RegisterRawUserAsync(server.ApiUrl, publishOneTimeKeys: false);
        await TestIdentities.ConnectAsync(user, app.AppId);

        // The user's device starts once (publishing its one-time keys), then goes offline.
        await using (var first = UserEndpoint(server, user))
        {
            await first.StartAsync();
        }

        var sent = new List<string>();
        await using (var client = new SelfClient(new SelfClientOptions
        {
            AppId = app.AppId,
            AppSecret = app.Secret,
            StorageKey = "crash-app-storage",
            StorageDirectory = _dir.Sub("app"),
            ApiUrl = server.ApiUrl,
            MessagingUrl = server.MessagingUrl,
        }))
        {
            await client.StartAsync();
            for (var i = 0; i < 5; i++)
            {
                // SendAsync returns once the network acknowledged the message (ACK after commit).
                sent.Add(await client.Authentication.SendAsync(user.SelfId));
            }

            await server.KillAsync();
        }

        await server.StartAsync();
        await using var device = UserEndpoint(server, user);
        var received = new List<string>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = device.Subscribe((message, _) =>
        {
            var claims = SignedMessage.ReadClaims<AuthenticationRequestClaims>(message.Jws);
            lock (received)
            {
                received.Add(claims.Cid!);
                if (received.Count == sent.Count)
                {
                    all.TrySetResult();
                }
            }

            return ValueTask.CompletedTask;
        });
        await device.StartAsync();

        await all.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(sent.Order(), received.Order());
    }

    private SelfEndpoint UserEndpoint(ServerProcess server, RawUser user) => new(new SelfEndpointOptions
    {
        IdentityId = user.SelfId,
        DeviceId = "1",
        SigningKey = user.DeviceKey,
        ApiUrl = server.ApiUrl,
        MessagingUrl = server.MessagingUrl,
        StorageDirectory = _dir.Sub("user"),
        StorageKey = "crash-user-storage",
    });
}
