// The README's "Authenticate a user" section, as code that compiles. Run it against a network with an app and a user
// that has connected to it (e.g. after 'self app create' and 'self user create' + 'self user connect'):
//
//   dotnet run --project samples/Authentication -- <app id> <app secret> <self id>
using Self.Sdk;
using Self.Sdk.Authentication;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: Authentication <app id> <app secret> <self id> [api url]");
    return 2;
}

var (appId, appSecret, selfId) = (args[0], args[1], args[2]);
var apiUrl = new Uri(args.Length > 3 ? args[3] : "http://127.0.0.1:8080");

await using var client = new SelfClient(new SelfClientOptions
{
    AppId = appId,
    AppSecret = appSecret,
    StorageKey = "choose-a-long-random-storage-key",
    StorageDirectory = Path.Combine(Path.GetTempPath(), "self-sample-" + appId),
    ApiUrl = apiUrl,
});
await client.StartAsync();

// 1. Blocking: await the answer (or the expiry).
var response = await client.Authentication.RequestAsync(selfId);
Console.WriteLine($"blocking:     {response.Status}");

// 2. Non-blocking: returns once the request is sent; the callback runs exactly once with the outcome.
var answered = new TaskCompletionSource();
await client.Authentication.RequestAsync(selfId, outcome =>
{
    Console.WriteLine($"non-blocking: {outcome.Status}");
    answered.SetResult();
});
await answered.Task;

// 3. Asynchronous: send now, receive the answer later through a subscription, matched by conversation id.
using var subscription = client.Authentication.Subscribe(outcome => Console.WriteLine($"subscription: {outcome.ConversationId} {outcome.Status}"));
var cid = await client.Authentication.SendAsync(selfId, new AuthenticationRequestOptions
{
    Description = "Sign in to the sample",
    Expiry = TimeSpan.FromMinutes(2),
});
Console.WriteLine($"asynchronous: sent {cid}");
var later = await client.Authentication.WaitForResponseAsync(cid);
return later.Accepted ? 0 : 1;
