using System.Globalization;
using Self.Sdk;
using Self.Sdk.Authentication;

// A small app on SelfClient for the app-crash tests. Configured by environment (CRASH_*), it says what it does on
// stdout, one line per event, so that the test can follow it, kill it with SIGKILL, and check what the next run says:
//
//   send    opens two requests in each calling style — blocking, callback, asynchronous (custom cid + subscription) —
//           one to be answered (<style>-answer) and one left to expire (<style>-expire), prints "open", then keeps
//           opening asynchronous requests (burst-<n>) until it is killed.
//   resume  starts on the same storage, waits for the outcome of every cid named in CRASH_CIDS (a file, one per
//           line), prints each, and "done" (or "hung <cid>" for one that did not end within CRASH_PATIENCE seconds).
//
// Lines: opening <cid> | sent <cid> | open | returned <cid> <status> | callback <cid> <status> | heard <cid> <status>
//        | waited <cid> <status> | unknown <cid> | hung <cid> | done
var mode = args.Length == 1 ? args[0] : throw new ArgumentException("usage: self-crash-app send|resume");
var user = Setting("CRASH_USER");
var answerExpiry = TimeSpan.FromSeconds(double.Parse(Setting("CRASH_ANSWER_EXPIRY"), CultureInfo.InvariantCulture));
var expireExpiry = TimeSpan.FromSeconds(double.Parse(Setting("CRASH_EXPIRE_EXPIRY"), CultureInfo.InvariantCulture));
var output = TextWriter.Synchronized(Console.Out);

await using var client = new SelfClient(new SelfClientOptions
{
    AppId = Setting("CRASH_APP_ID"),
    AppSecret = Setting("CRASH_APP_SECRET"),
    StorageKey = Setting("CRASH_STORAGE_KEY"),
    StorageDirectory = Setting("CRASH_STORAGE"),
    ApiUrl = new Uri(Setting("CRASH_API")),
    MessagingUrl = new Uri(Setting("CRASH_MESSAGING")),
    MaxRetries = 1,
});

// Subscribed before the start, which restores the open requests and reads the answers waiting in the inbox.
client.Authentication.Subscribe(r => Say($"heard {r.ConversationId} {r.Status}"));
await client.StartAsync();

if (mode == "send")
{
    foreach (var style in new[] { "blocking", "callback", "async" })
    {
        foreach (var kind in new[] { "answer", "expire" })
        {
            var cid = $"{style}-{kind}";
            var options = new AuthenticationRequestOptions { ConversationId = cid, Expiry = kind == "answer" ? answerExpiry : expireExpiry };
            Say("opening " + cid);
            switch (style)
            {
                case "blocking":
                    _ = Task.Run(async () =>
                    {
                        var response = await client.Authentication.RequestAsync(user, options);
                        Say($"returned {cid} {response.Status}");
                    });
                    break;
                case "callback":
                    await client.Authentication.RequestAsync(user, r => Say($"callback {r.ConversationId} {r.Status}"), options);
                    Say("sent " + cid);
                    break;
                default:
                    await client.Authentication.SendAsync(user, options);
                    Say("sent " + cid);
                    break;
            }
        }
    }

    Say("open");
    for (var n = 0; ; n++)
    {
        // Not awaited: several sends are in flight whenever the kill comes.
        var cid = "burst-" + n.ToString(CultureInfo.InvariantCulture);
        Say("opening " + cid);
        _ = SendAsync(cid);
        await Task.Delay(TimeSpan.FromMilliseconds(25));
    }
}

var patience = TimeSpan.FromSeconds(double.Parse(Setting("CRASH_PATIENCE"), CultureInfo.InvariantCulture));
var waits = File.ReadAllLines(Setting("CRASH_CIDS")).Where(static l => l.Length > 0).Select(async cid =>
{
    Task<AuthenticationResponse> outcome;
    try
    {
        outcome = client.Authentication.WaitForResponseAsync(cid);
    }
    catch (ArgumentException)
    {
        Say("unknown " + cid);
        return;
    }

    if (await Task.WhenAny(outcome, Task.Delay(patience)) != outcome)
    {
        Say("hung " + cid);
        return;
    }

    Say($"waited {cid} {(await outcome).Status}");
});
await Task.WhenAll(waits);
Say("done");
return 0;

async Task SendAsync(string cid)
{
    try
    {
        await client.Authentication.SendAsync(user, new AuthenticationRequestOptions { ConversationId = cid, Expiry = expireExpiry });
        Say("sent " + cid);
    }
    catch (Exception ex)
    {
        Say($"failed {cid} {ex.GetType().Name}");
    }
}

void Say(string line)
{
    output.WriteLine(line);
    output.Flush();
}

static string Setting(string name) =>
    Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : throw new ArgumentException($"{name} is not set");
