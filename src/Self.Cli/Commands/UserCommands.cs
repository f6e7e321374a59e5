using System.CommandLine;
using Self.Cli.Home;
using Self.Cli.Terminal;
using Self.Device;
using Spectre.Console;

namespace Self.Cli.Commands;

/// <summary><c>self user create | connect | listen | scan</c>: a user's device, kept in SELF_HOME.</summary>
internal static class UserCommands
{
    public static Command Create(CliContext context)
    {
        return new Command("user", "A user's device: register it, connect it to apps, answer their requests.")
        {
            CreateCreate(context),
            CreateConnect(context),
            CreateListen(context),
            CreateScan(context),
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
            user, server,
        };
        var answer = CommonOptions.Answer(listen, "Accept every request without asking.", "Reject every request without asking.");
        listen.Options.Add(count);
        listen.Options.Add(json);
        listen.SetAction((parse, cancellationToken) => ListenAsync(
            context,
            parse.GetValue(user),
            parse.GetValue(server),
            answer.Read(parse),
            parse.GetValue(count),
            parse.GetValue(json),
            cancellationToken));
        return listen;
    }

    private static Command CreateScan(CliContext context)
    {
        var input = new Argument<string>("QR")
        {
            Description = "What the app shows: the QR code's text, a picture of it (PNG, JPEG…), or its deep link; a sign-in request or an invitation to connect.",
        };
        var user = CommonOptions.User();
        var server = CommonOptions.Server("The network (default: the one the user registered on).");
        var json = CommonOptions.Json("Print what was read and the answer as JSON.");
        var scan = new Command("scan", "Answer an app's sign-in QR code or deep link, or accept its invitation to connect. Exit code: 0 accepted, 3 rejected, 4 expired, 1 refused.")
        {
            input, user, server,
        };
        var answer = CommonOptions.Answer(scan, "Accept (or connect) without asking.", "Reject (or decline) without asking.");
        scan.Options.Add(json);
        scan.SetAction((parse, cancellationToken) => ScanAsync(
            context,
            parse.GetRequiredValue(input),
            parse.GetValue(user),
            parse.GetValue(server),
            answer.Read(parse),
            parse.GetValue(json),
            cancellationToken));
        return scan;
    }

    private static async Task<int> ScanAsync(
        CliContext context, string input, string? userId, Uri? server, bool? decision, bool json, CancellationToken cancellationToken)
    {
        var console = context.Console;
        var text = ReadScanned(context, input);
        if (decision is null && (json || !console.Profile.Capabilities.Interactive))
        {
            throw new CliException("No one to ask here: pass --accept or --reject to answer without a prompt.", ExitCodes.Usage);
        }

        var home = SelfHome.FromEnvironment(context.GetEnvironment);
        var user = home.LoadUser(userId);
        await using var device = await OpenAsync(context, user, server, cancellationToken).ConfigureAwait(false);
        IncomingRequest request;
        try
        {
            request = await device.ReadQrAsync(text, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidRequestException notRequest)
        {
            AppInvitation invitation;
            try
            {
                invitation = await device.ReadInvitationAsync(text, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidRequestException)
            {
                throw new CliException("That is neither an app's sign-in request nor its invitation to connect. " + notRequest.Message);
            }

            var name = invitation.AppName is { } n ? $"{n} ({invitation.AppId})" : invitation.AppId;
            if (!json)
            {
                console.MarkupLine($"Invitation to connect to [bold]{Markup.Escape(name)}[/]: {Markup.Escape(invitation.Description ?? "-")}");
            }

            var connect = decision ?? await AskAsync(console, "Connect", "Decline", cancellationToken).ConfigureAwait(false);
            if (connect)
            {
                await device.AcceptInvitationAsync(text, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await device.DeclineInvitationAsync(text, cancellationToken).ConfigureAwait(false);
            }

            if (json)
            {
                JsonOutput.Write(context.Output, new ScanOutput("invitation", invitation.ConversationId, invitation.AppId, invitation.AppName, connect ? "connected" : "declined"), OutputJson.Default.ScanOutput);
            }
            else
            {
                console.MarkupLine(connect ? $"[green]Connected[/] to {Markup.Escape(name)}." : $"[red]Declined[/] {Markup.Escape(name)}.");
            }

            return connect ? ExitCodes.Ok : ExitCodes.Rejected;
        }

        if (!json)
        {
            console.Write(Describe(request, context.TimeProvider.GetUtcNow()));
        }

        if (request.RequiresNumber && decision is true)
        {
            throw new CliException("This request uses number matching: --accept cannot answer it; run 'self user scan' without it and type the number.", ExitCodes.Usage);
        }

        var accept = decision ?? await AskAsync(console, cancellationToken).ConfigureAwait(false);
        string answer;
        if (!accept)
        {
            await request.RejectAsync(cancellationToken).ConfigureAwait(false);
            answer = "rejected";
        }
        else if (request.RequiresNumber)
        {
            answer = await AcceptWithNumberAsync(console, request, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await request.AcceptAsync(cancellationToken).ConfigureAwait(false);
            answer = "accepted";
        }

        if (json)
        {
            JsonOutput.Write(context.Output, new ScanOutput("request", request.ConversationId, request.AppId, request.AppName, answer), OutputJson.Default.ScanOutput);
        }
        else
        {
            console.MarkupLine(answer == "accepted" ? "[green]Accepted.[/]" : "[red]Rejected.[/]");
        }

        return answer == "accepted" ? ExitCodes.Ok : ExitCodes.Rejected;
    }

    /// <summary>The scanned text: the argument itself, or the QR code read from the picture it names.</summary>
    private static string ReadScanned(CliContext context, string input)
    {
        var trimmed = input.Trim();
        if (trimmed.StartsWith('{') || trimmed.Contains("://", StringComparison.Ordinal))
        {
            return trimmed;
        }

        var path = context.ResolvePath(trimmed);
        if (!File.Exists(path))
        {
            throw new CliException($"'{input}' is neither a QR code's text, a link, nor a picture file that exists.", ExitCodes.Usage);
        }

        string? text;
        try
        {
            text = Self.Authenticator.QrCodeReader.Read(File.ReadAllBytes(path));
        }
        catch (InvalidDataException ex)
        {
            throw new CliException($"{path}: {ex.Message}");
        }

        return text ?? throw new CliException($"No QR code could be read in {path}: try a sharper or larger picture, or pass its text.");
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

        // REST only: a listener of this device keeps its messaging connection.
        await using var device = await OpenAsync(context, user, server, cancellationToken, connectMessaging: false).ConfigureAwait(false);
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

        // Another process that connects as this device takes the connection over; a listener that goes on would wait forever.
        using var superseded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var supersededBy = false;
        device.Disconnected += (_, e) =>
        {
            if (e.Superseded)
            {
                Volatile.Write(ref supersededBy, true);
                superseded.Cancel();
            }
        };
        if (!json)
        {
            console.MarkupLine($"Listening for requests to [bold]{Markup.Escape(user.SelfId)}[/]… [grey](Ctrl-C to stop)[/]");
        }

        var answered = 0;
        try
        {
            await foreach (var request in device.ReadRequestsAsync(superseded.Token).ConfigureAwait(false))
            {
                if (!json)
                {
                    console.Write(Describe(request, context.TimeProvider.GetUtcNow()));
                }

                string answer;
                bool accept;
                if (request.RequiresNumber && decision is not null)
                {
                    // Number matching exists so that nothing accepts without a person who sees the app's screen.
                    accept = false;
                    answer = "needs the number";
                    await context.Error.WriteLineAsync(
                        $"Request {request.ConversationId} of {request.AppName ?? request.AppId} uses number matching: --accept and --reject do not answer it. "
                        + "Run 'self user listen' without them (or the authenticator) and type the number the sign-in screen shows.").ConfigureAwait(false);
                }
                else
                {
                    accept = decision ?? await AskAsync(console, cancellationToken).ConfigureAwait(false);
                    try
                    {
                        if (!accept)
                        {
                            await request.RejectAsync(cancellationToken).ConfigureAwait(false);
                            answer = "rejected";
                        }
                        else if (request.RequiresNumber)
                        {
                            answer = await AcceptWithNumberAsync(console, request, cancellationToken).ConfigureAwait(false);
                            accept = answer == "accepted";
                        }
                        else
                        {
                            await request.AcceptAsync(cancellationToken).ConfigureAwait(false);
                            answer = "accepted";
                        }
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
        catch (OperationCanceledException) when (Volatile.Read(ref supersededBy))
        {
            // Handled below.
        }

        if (Volatile.Read(ref supersededBy) && !cancellationToken.IsCancellationRequested)
        {
            throw new CliException(
                $"Stopped listening: another program connected as device {user.DeviceId} of {user.SelfId} (another 'self user listen', "
                + "'self user scan' or an authenticator with the same device) and took over its connection. Run only one listener per device.");
        }

        return ExitCodes.Ok;
    }

    /// <summary>Asks for the number the app's screen shows until it matches, the person gives up, or the device rejects.</summary>
    private static async Task<string> AcceptWithNumberAsync(IAnsiConsole console, IncomingRequest request, CancellationToken cancellationToken)
    {
        while (true)
        {
            var number = await new TextPrompt<string>("Type the number shown on the sign-in screen (empty to reject):")
                .AllowEmpty()
                .ShowAsync(console, cancellationToken)
                .ConfigureAwait(false);
            if (string.IsNullOrWhiteSpace(number))
            {
                await request.RejectAsync(cancellationToken).ConfigureAwait(false);
                return "rejected";
            }

            try
            {
                await request.AcceptAsync(number, cancellationToken).ConfigureAwait(false);
                return "accepted";
            }
            catch (NumberMismatchException ex)
            {
                console.MarkupLine($"[red]{Markup.Escape(ex.Message)}[/]");
                if (ex.AttemptsLeft == 0)
                {
                    return "rejected";
                }
            }
        }
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

    private static Task<bool> AskAsync(IAnsiConsole console, CancellationToken cancellationToken) =>
        AskAsync(console, "Accept", "Reject", cancellationToken);

    private static async Task<bool> AskAsync(IAnsiConsole console, string yes, string no, CancellationToken cancellationToken)
    {
        var choice = await new SelectionPrompt<string>()
            .Title("Answer?")
            .AddChoices(yes, no)
            .ShowAsync(console, cancellationToken)
            .ConfigureAwait(false);
        return choice == yes;
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

    private static Task<SelfDevice> OpenAsync(
        CliContext context, UserProfile user, Uri? server, CancellationToken cancellationToken, bool connectMessaging = true) =>
        SelfDevice.OpenAsync(
            DeviceOptions(context, server ?? new Uri(user.Server), user.StorageDirectory, user.StorageKey) with
            {
                DeviceId = user.DeviceId,
                ConnectMessaging = connectMessaging,
            },
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
