using System.Collections.Concurrent;
using System.CommandLine;
using Self.Cli.Home;
using Self.Device;
using Self.Network;
using Self.Sdk;
using Self.Sdk.Apps;
using Self.Sdk.Authentication;
using Spectre.Console;

namespace Self.Cli.Commands;

/// <summary>
/// <c>self demo</c>: the whole flow on a private network started in-process — an app, the user 1112223334 whose device
/// answers by script, a request refused because they have not connected, then one request in each calling style.
/// </summary>
internal static class DemoCommand
{
    /// <summary>The Self ID the documentation uses.</summary>
    public const string DemoUser = "1112223334";

    private const string DemoAppName = "Self demo";

    /// <summary>How long each request stays open: long enough for a slow machine, short enough to fail fast.</summary>
    private static readonly TimeSpan RequestExpiry = TimeSpan.FromSeconds(10);

    public static Command Create(CliContext context)
    {
        var data = CommonOptions.Data("Keep the network's data, the app and the user in this folder (default: a temporary folder, deleted after).");
        var web = new Option<bool>("--web")
        {
            Description = "Instead: start the network, a web site with Sign in with Self and the web authenticator on 127.0.0.1, and sign in yourself in a browser (until Ctrl-C).",
        };
        var noOpen = new Option<bool>("--no-open") { Description = "With --web: print the links without opening a browser." };
        var json = CommonOptions.Json("With --web: print where everything listens as one JSON line.");
        var demo = new Command(
            "demo",
            $"Start a network in-process, create an app and the user {DemoUser}, and run one authentication in each style; exits non-zero if any outcome differs from what it shows.")
        {
            data, web, noOpen, json,
        };
        demo.Validators.Add(result =>
        {
            if (!result.GetValue(web) && (result.GetValue(noOpen) || result.GetValue(json)))
            {
                result.AddError("--no-open and --json go with --web.");
            }
        });
        demo.SetAction((parse, cancellationToken) => RunAsync(
            context,
            parse.GetValue(data),
            parse.GetValue(web) ? (root, token) => DemoWebCommand.RunInAsync(context, root, parse.GetValue(json), parse.GetValue(noOpen), token) : null,
            cancellationToken));
        return demo;
    }

    private static async Task<int> RunAsync(CliContext context, string? data, Func<string, CancellationToken, Task<int>>? web, CancellationToken cancellationToken)
    {
        var temporary = data is null;
        var root = temporary
            ? Path.Combine(Path.GetTempPath(), "self-demo-" + Guid.NewGuid().ToString("N"))
            : context.ResolvePath(data!);
        try
        {
            return web is null
                ? await RunInAsync(context, root, cancellationToken).ConfigureAwait(false)
                : await web(root, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (temporary)
            {
                TryDelete(root);
            }
        }
    }

    private static async Task<int> RunInAsync(CliContext context, string root, CancellationToken cancellationToken)
    {
        var console = context.Console;
        var home = new SelfHome(Path.Combine(root, "home"));
        var results = new List<StepResult>();

        console.Write(new Rule("[bold]Self demo[/]").LeftJustified());
        await using var server = await StartNetworkAsync(context, root, cancellationToken).ConfigureAwait(false);
        Say(console, $"Network listening on {server.BaseAddress} (embedded store in {server.Options.DataDirectory})");

        var app = await CreateAppAsync(context, home, server, DemoAppName, cancellationToken).ConfigureAwait(false);
        Say(console, $"Created app \"{app.Name}\" with id {app.AppId}");

        var consent = new ScriptedConsent();
        await using var device = await OpenUserAsync(context, home, server.BaseAddress, consent, cancellationToken).ConfigureAwait(false);
        Say(console, $"User {device.SelfId} has a device whose answers are scripted by this demo");

        await using var client = await AppSessions.StartAsync(context, home, app, server.BaseAddress, cancellationToken).ConfigureAwait(false);
        var authentication = client.Authentication;

        // 1. Before the user connects, the network refuses to carry the app's request to them.
        Say(console, $"1. The app asks {DemoUser}, who has not connected to it yet: await RequestAsync(\"{DemoUser}\")");
        results.Add(await RunStepAsync("1", "blocking, not connected", "refused", async () =>
        {
            try
            {
                return Describe(await authentication.RequestAsync(DemoUser, Options(consent, accept: true), cancellationToken).ConfigureAwait(false));
            }
            catch (NotConnectedException ex)
            {
                Say(console, $"   Refused: {ex.Message}");
                return "refused";
            }
        }).ConfigureAwait(false));

        await device.ConnectAsync(app.AppId, cancellationToken: cancellationToken).ConfigureAwait(false);
        Say(console, $"{DemoUser} connects to \"{app.Name}\"");

        // 2. Blocking: the call returns with the answer.
        Say(console, $"2. Blocking: await RequestAsync(\"{DemoUser}\") returns with the answer (the device accepts)");
        results.Add(await RunStepAsync("2", "blocking", "accepted", async () =>
            Describe(await authentication.RequestAsync(DemoUser, Options(consent, accept: true), cancellationToken).ConfigureAwait(false)))
            .ConfigureAwait(false));

        // 3. Non-blocking: the call returns once sent; the callback gets the answer.
        Say(console, $"3. Non-blocking: RequestAsync(\"{DemoUser}\", callback) returns once sent; the callback gets the answer (the device rejects)");
        results.Add(await RunStepAsync("3", "non-blocking (callback)", "rejected", async () =>
        {
            var answered = new TaskCompletionSource<AuthenticationResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
            var cid = await authentication.RequestAsync(DemoUser, response => answered.TrySetResult(response), Options(consent, accept: false), cancellationToken)
                .ConfigureAwait(false);
            Say(console, $"   Sent {cid}; the call has returned");
            return Describe(await answered.Task.WaitAsync(cancellationToken).ConfigureAwait(false));
        }).ConfigureAwait(false));

        // 4. Asynchronous: the answer arrives at a subscription, matched by conversation id.
        Say(console, $"4. Asynchronous: SendAsync(\"{DemoUser}\") returns the conversation id; the answer arrives at a subscription (the device accepts)");
        results.Add(await RunStepAsync("4", "asynchronous (subscription)", "accepted", async () =>
        {
            var options = Options(consent, accept: true);
            var answered = new TaskCompletionSource<AuthenticationResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
            using var subscription = authentication.Subscribe(response =>
            {
                if (response.ConversationId == options.ConversationId)
                {
                    answered.TrySetResult(response);
                }
            });
            var cid = await authentication.SendAsync(DemoUser, options, cancellationToken).ConfigureAwait(false);
            Say(console, $"   Sent {cid}; waiting at the subscription");
            return Describe(await answered.Task.WaitAsync(cancellationToken).ConfigureAwait(false));
        }).ConfigureAwait(false));

        console.Write(ResultTable(results));
        var failed = results.Where(static r => !r.AsShown).ToList();
        if (failed.Count == 0)
        {
            console.MarkupLine("[green]Every outcome is as shown.[/]");
            return ExitCodes.Ok;
        }

        foreach (var step in failed)
        {
            await context.Error.WriteLineAsync($"Step {step.Step} ({step.How}): expected {step.Expected}, got {step.Outcome}").ConfigureAwait(false);
        }

        return ExitCodes.Failed;
    }

    /// <summary>The demo's private network: SQLite in <paramref name="root"/>/network, on a free loopback port.</summary>
    internal static Task<SelfNetworkServer> StartNetworkAsync(CliContext context, string root, CancellationToken cancellationToken) =>
        SelfNetworkServer.StartAsync(
            new SelfNetworkOptions
            {
                Urls = "http://127.0.0.1:0",
                DataDirectory = Path.Combine(root, "network"),
                TimeProvider = context.TimeProvider,
            },
            context.LoggerFactory,
            cancellationToken);

    /// <summary>Creates an app on the demo's network with its admin token and keeps its profile (the default app).</summary>
    internal static async Task<AppProfile> CreateAppAsync(CliContext context, SelfHome home, SelfNetworkServer server, string name, CancellationToken cancellationToken)
    {
        var created = await SelfApps.CreateAsync(server.BaseAddress, server.AdminToken, name, context.TimeProvider, httpClient: null, cancellationToken)
            .ConfigureAwait(false);
        var app = new AppProfile(created.AppId, created.Name, created.Secret, created.RecoverySecret, SelfHome.NewStorageKey(), server.BaseAddress.ToString());
        home.SaveApp(app);
        return app;
    }

    private static async Task<SelfDevice> OpenUserAsync(
        CliContext context, SelfHome home, Uri server, ScriptedConsent consent, CancellationToken cancellationToken)
    {
        if (home.TryLoadUser(DemoUser) is { } known)
        {
            // A demo run again on the same --data: the user exists, open their device.
            var options = UserCommands.DeviceOptions(context, server, known.StorageDirectory, known.StorageKey) with
            {
                DeviceId = known.DeviceId,
                ConsentPolicy = consent,
            };
            return await SelfDevice.OpenAsync(options, cancellationToken).ConfigureAwait(false);
        }

        var storage = home.NewDeviceStorageDirectory();
        var storageKey = SelfHome.NewStorageKey();
        var device = await SelfDevice.RegisterAsync(
            UserCommands.DeviceOptions(context, server, storage, storageKey) with { ConsentPolicy = consent },
            DemoUser,
            cancellationToken).ConfigureAwait(false);
        home.SaveUser(new UserProfile(device.SelfId, device.DeviceId, storageKey, server.ToString(), storage));
        return device;
    }

    /// <summary>A request whose answer the scripted device already knows.</summary>
    private static AuthenticationRequestOptions Options(ScriptedConsent consent, bool accept)
    {
        var cid = Guid.NewGuid().ToString();
        consent.Script(cid, accept);
        return new AuthenticationRequestOptions
        {
            ConversationId = cid,
            Expiry = RequestExpiry,
            Description = accept ? "Sign in to the Self demo (the device will accept)" : "Sign in to the Self demo (the device will reject)",
        };
    }

    private static async Task<StepResult> RunStepAsync(string step, string how, string expected, Func<Task<string>> run)
    {
        var outcome = await run().ConfigureAwait(false);
        return new StepResult(step, how, expected, outcome, outcome == expected);
    }

    private static string Describe(AuthenticationResponse response) =>
        response.Reason is { } reason && response.Status is not (AuthenticationStatus.Accepted or AuthenticationStatus.Rejected)
            ? $"{AuthCommands.StatusName(response.Status)} ({reason})"
            : AuthCommands.StatusName(response.Status);

    private static Table ResultTable(IEnumerable<StepResult> results)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("#").AddColumn("Request").AddColumn("Expected").AddColumn("Outcome").AddColumn("");
        foreach (var r in results)
        {
            table.AddRow(
                new Text(r.Step),
                new Text(r.How),
                new Text(r.Expected),
                new Text(r.Outcome),
                new Markup(r.AsShown ? "[green]as shown[/]" : "[red]DIFFERS[/]"));
        }

        return table;
    }

    internal static void Say(IAnsiConsole console, string text) => console.MarkupLine($"[grey]•[/] {Markup.Escape(text)}");

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // The OS cleans its temp folder; a leftover file must not turn a good demo into a failure.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }

    private sealed record StepResult(string Step, string How, string Expected, string Outcome, bool AsShown);

    /// <summary>The demo device's consent: the answer to each request is scripted by conversation id before it is sent.</summary>
    private sealed class ScriptedConsent : IConsentPolicy
    {
        private readonly ConcurrentDictionary<string, bool> _answers = new(StringComparer.Ordinal);

        public void Script(string conversationId, bool accept) => _answers[conversationId] = accept;

        public ValueTask<ConsentDecision> DecideAsync(IncomingRequest request, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(
                _answers.TryGetValue(request.ConversationId, out var accept) && accept ? ConsentDecision.Accept : ConsentDecision.Reject);
    }
}
