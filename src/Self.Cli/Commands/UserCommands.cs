using System.CommandLine;
using Self.Cli.Home;
using Self.Cli.Terminal;
using Self.Device;
using Spectre.Console;

namespace Self.Cli.Commands;

/// <summary><c>self user create | connect | listen</c>: a user's device, kept in SELF_HOME.</summary>
internal static class UserCommands
{
    public static Command Create(CliContext context)
    {
        return new Command("user", "A user's device: register it, connect it to apps, answer their requests.")
        {
            CreateCreate(context),
            CreateConnect(context),
            CreateListen(context),
        };
    }

    private static Command CreateCreate(CliContext context)
    {
        var id = new Option<string?>("--id")
        {
            Description = "Ask for this Self ID (10 or 11 digits, e.g. 1112223334) instead of one the network picks.",
            HelpName = "SELF_ID",
        };
        id.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string?>();
            if (value is not null && !Self.Protocol.Identifiers.SelfIds.IsUserId(value))
            {
                result.AddError($"--id: '{value}' is not a Self ID (10 or 11 digits, such as 1112223334).");
            }
        });
        var server = CommonOptions.Server($"The network to register on. [default: {CommonOptions.DefaultServer}]");
        var json = CommonOptions.Json("Print the new user as JSON: {\"id\",\"device_id\",\"recovery_secret\",\"server\"}.");
        var create = new Command("create", "Register a new user with a device on this machine (the default user from now on).")
        {
            id, server, json,
        };
        create.SetAction((parse, cancellationToken) => CreateAsync(
            context, parse.GetValue(id), parse.GetValue(server) ?? CommonOptions.DefaultServer, parse.GetValue(json), cancellationToken));
        return create;
    }

    private static Command CreateConnect(CliContext context)
    {
        var appId = CommonOptions.AppIdArgument("The app the user allows to send them requests.");
        var user = CommonOptions.User();
        var server = CommonOptions.Server("The network (default: the one the user registered on).");
        var json = CommonOptions.Json("Print {\"user\",\"app\"} as JSON.");
        var connect = new Command("connect", "Connect the user to an app, so the app may ask them to authenticate.")
        {
            appId, user, server, json,
        };
        connect.SetAction((parse, cancellationToken) => ConnectAsync(
            context, parse.GetRequiredValue(appId), parse.GetValue(user), parse.GetValue(server), parse.GetValue(json), cancellationToken));
        return connect;
    }

    private static Command CreateListen(CliContext context)
    {
        var user = CommonOptions.User();
        var server = CommonOptions.Server("The network (default: the one the user registered on).");
        var accept = new Option<bool>("--accept") { Description = "Accept every request without asking." };
        var reject = new Option<bool>("--reject") { Description = "Reject every request without asking." };
        var count = new Option<int?>("--count")
        {
            Description = "Stop after answering this many requests (default: run until Ctrl-C).",
            HelpName = "N",
        };
        count.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1)
            {
                result.AddError("--count must be at least 1.");
            }
        });
        var json = CommonOptions.Json("Print each request and its answer as one JSON line.");
        var listen = new Command("listen", "Show each request that reaches the user's device and answer it (Accept / Reject).")
        {
            user, server, accept, reject, count, json,
        };
        listen.Validators.Add(result =>
        {
            if (result.GetValue(accept) && result.GetValue(reject))
            {
                result.AddError("--accept and --reject cannot be used together.");
            }
        });
        listen.SetAction((parse, cancellationToken) => ListenAsync(
            context,
            parse.GetValue(user),
            parse.GetValue(server),
            parse.GetValue(accept) ? true : parse.GetValue(reject) ? false : null,
            parse.GetValue(count),
            parse.GetValue(json),
            cancellationToken));
        return listen;
    }

    private static async Task<int> CreateAsync(CliContext context, string? wantedId, Uri server, bool json, CancellationToken cancellationToken)
    {
        var home = SelfHome.FromEnvironment(context.GetEnvironment);
        var storage = home.NewDeviceStorageDirectory();
        var storageKey = SelfHome.NewStorageKey();
        SelfDevice device;
        try
        {
            device = await SelfDevice.RegisterAsync(DeviceOptions(context, server, storage, storageKey), wantedId, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            TryDelete(storage);
            throw;
        }

        await using (device.ConfigureAwait(false))
        {
            home.SaveUser(new UserProfile(device.SelfId, device.DeviceId, storageKey, server.ToString(), storage));
            var recoveryKey = device.ExportRecoveryKey();
            if (json)
            {
                JsonOutput.Write(
                    context.Output, new UserOutput(device.SelfId, device.DeviceId, recoveryKey, server.ToString()), OutputJson.Default.UserOutput);
            }
            else
            {
                context.Console.MarkupLine($"[green]Created user[/] [bold]{Markup.Escape(device.SelfId)}[/] (device {Markup.Escape(device.DeviceId)}) on {Markup.Escape(server.ToString())}");

                // A plain line, never wrapped, so that it can be copied whole.
                await context.Output.WriteLineAsync($"Recovery key  {recoveryKey}").ConfigureAwait(false);
                await context.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
                context.Console.MarkupLine("[yellow]Write the recovery key down and keep it offline:[/] it takes the identity back if this device is lost.");
                context.Console.MarkupLine($"The device is kept in {Markup.Escape(storage)}; it is the default user from now on.");
            }
        }

        return ExitCodes.Ok;
    }

    private static async Task<int> ConnectAsync(
        CliContext context, string appId, string? userId, Uri? server, bool json, CancellationToken cancellationToken)
    {
        var home = SelfHome.FromEnvironment(context.GetEnvironment);
        var user = home.LoadUser(userId);
        await using var device = await OpenAsync(context, user, server, cancellationToken).ConfigureAwait(false);
        await device.ConnectAsync(appId, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (json)
        {
            JsonOutput.Write(context.Output, new ConnectOutput(user.SelfId, appId), OutputJson.Default.ConnectOutput);
        }
        else
        {
            context.Console.MarkupLine($"[green]Connected[/] user {Markup.Escape(user.SelfId)} to app {Markup.Escape(appId)}: the app may now ask them to authenticate.");
        }

        return ExitCodes.Ok;
    }

    private static async Task<int> ListenAsync(
        CliContext context, string? userId, Uri? server, bool? decision, int? count, bool json, CancellationToken cancellationToken)
    {
        var console = context.Console;
        if (decision is null && (json || !console.Profile.Capabilities.Interactive))
        {
            throw new CliException("No one to ask here: pass --accept or --reject to answer without a prompt.", ExitCodes.Usage);
        }

        var home = SelfHome.FromEnvironment(context.GetEnvironment);
        var user = home.LoadUser(userId);
        await using var device = await OpenAsync(context, user, server, cancellationToken).ConfigureAwait(false);
        if (!json)
        {
            console.MarkupLine($"Listening for requests to [bold]{Markup.Escape(user.SelfId)}[/]… [grey](Ctrl-C to stop)[/]");
        }

        var answered = 0;
        try
        {
            await foreach (var request in device.ReadRequestsAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!json)
                {
                    console.Write(Describe(request, context.TimeProvider.GetUtcNow()));
                }

                var accept = decision ?? await AskAsync(console, cancellationToken).ConfigureAwait(false);
                string answer;
                try
                {
                    if (accept)
                    {
                        await request.AcceptAsync(cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await request.RejectAsync(cancellationToken).ConfigureAwait(false);
                    }

                    answer = accept ? "accepted" : "rejected";
                }
                catch (Exception ex) when (ex is RequestExpiredException or RequestAlreadyAnsweredException)
                {
                    // The person was too slow, or another answer won: say so and wait for the next request.
                    answer = ex is RequestExpiredException ? "expired" : "already answered";
                    if (!json)
                    {
                        console.MarkupLine($"[yellow]{Markup.Escape(ex.Message)}[/]");
                    }
                }

                if (json)
                {
                    JsonOutput.Write(
                        context.Output,
                        new AnswerOutput(request.ConversationId, request.AppId, request.AppName, request.Description, request.BindingMessage, request.ExpiresAt, answer),
                        OutputJson.Default.AnswerOutput);
                }
                else if (answer is "accepted" or "rejected")
                {
                    console.MarkupLine(accept ? "[green]Accepted.[/]" : "[red]Rejected.[/]");
                }

                if (++answered >= count)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl-C is how a listener is meant to stop.
        }

        return ExitCodes.Ok;
    }

    private static Table Describe(IncomingRequest request, DateTimeOffset now)
    {
        var left = request.ExpiresAt - now;
        var expires = request.ExpiresAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture)
            + (left > TimeSpan.Zero ? $" (in {Durations.Format(TimeSpan.FromSeconds(Math.Ceiling(left.TotalSeconds)))})" : " (expired)");
        var table = new Table().Border(TableBorder.Rounded).HideHeaders().AddColumn("field").AddColumn("value");
        table.Title = new TableTitle("Authentication request");
        table.AddRow(new Text("App"), new Text(request.AppName is { } name ? $"{name} ({request.AppId})" : request.AppId));
        table.AddRow(new Text("Why"), new Text(request.Description ?? "-"));
        table.AddRow(new Text("Binding message"), new Text(request.BindingMessage ?? "-"));
        table.AddRow(new Text("Expires"), new Text(expires));
        return table;
    }

    private static async Task<bool> AskAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        var choice = await new SelectionPrompt<string>()
            .Title("Answer?")
            .AddChoices("Accept", "Reject")
            .ShowAsync(console, cancellationToken)
            .ConfigureAwait(false);
        return choice == "Accept";
    }

    internal static SelfDeviceOptions DeviceOptions(CliContext context, Uri server, string storageDirectory, string storageKey) => new()
    {
        ServerUrl = server,
        StorageDirectory = storageDirectory,
        StorageKey = storageKey,
        TimeProvider = context.TimeProvider,
        LoggerFactory = context.LoggerFactory,

        // A person is waiting at the terminal: say the network is down after a short while.
        MaxRetries = 2,
    };

    private static Task<SelfDevice> OpenAsync(CliContext context, UserProfile user, Uri? server, CancellationToken cancellationToken) =>
        SelfDevice.OpenAsync(
            DeviceOptions(context, server ?? new Uri(user.Server), user.StorageDirectory, user.StorageKey) with { DeviceId = user.DeviceId },
            cancellationToken);

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
            // A half-made store is harmless: nothing points to it.
        }
    }
}
