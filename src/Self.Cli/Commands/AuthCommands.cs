using System.CommandLine;
using Self.Cli.Home;
using Self.Cli.Terminal;
using Self.Sdk.Authentication;
using Spectre.Console;

namespace Self.Cli.Commands;

/// <summary><c>self auth request</c> and <c>self auth qr</c>: the app side of authentication.</summary>
internal static class AuthCommands
{
    public static Command Create(CliContext context)
    {
        return new Command("auth", "Ask users to authenticate (the app side).")
        {
            CreateRequest(context),
            CreateQr(context),
            CreateWait(context),
        };
    }

    /// <summary>Which instance of the app this process runs as (docs/app-devices.md).</summary>
    private static Option<string?> DeviceIdOption() => new("--device-id")
    {
        Description = "Run as this instance of the app: several processes of one app each take their own id and run side "
            + "by side (the first use registers it with the app key). [default: 1, the app key itself]",
        HelpName = "ID",
    };

    private static Command CreateWait(CliContext context)
    {
        var cid = new Argument<string>("conversation-id") { Description = "The request's conversation id, as 'auth request --async' printed it." };
        var app = CommonOptions.App();
        var server = CommonOptions.Server("The network (default: the one the app was created on).");
        var deviceId = DeviceIdOption();
        var json = CommonOptions.Json("Print a line with the conversation id once waiting, then the outcome, as JSON.");
        var wait = new Command(
            "wait",
            "Wait for the answer to a request that this app sent, from any of its instances. Exit code as for 'auth request'.")
        {
            cid, app, server, deviceId, json,
        };
        wait.SetAction((parse, cancellationToken) => WaitAsync(
            context, parse.GetRequiredValue(cid), parse.GetValue(app), parse.GetValue(server), parse.GetValue(deviceId), parse.GetValue(json),
            cancellationToken));
        return wait;
    }

    private static async Task<int> WaitAsync(
        CliContext context, string cid, string? appId, Uri? server, string? deviceId, bool json, CancellationToken cancellationToken)
    {
        var home = SelfHome.FromEnvironment(context.GetEnvironment);
        var app = home.LoadApp(appId);
        await using var client = await AppSessions.StartAsync(context, home, app, server, cancellationToken, deviceId).ConfigureAwait(false);
        Task<AuthenticationResponse> waiting;
        try
        {
            waiting = client.Authentication.WaitForResponseAsync(cid, cancellationToken);
        }
        catch (ArgumentException ex)
        {
            throw new CliException($"No open request of {app.Name} has conversation id '{cid}': {ex.Message}");
        }

        if (json)
        {
            // Once this instance is connected and waiting: a script (or a test) knows the answer will reach it.
            JsonOutput.Write(context.Output, new SentOutput(cid, Payload: null), OutputJson.Default.SentOutput);
        }

        var response = await Waiting.RunAsync(context.Console, json, $"Waiting for the answer to {cid}…", waiting).ConfigureAwait(false);
        return Report(context, response, json);
    }

    private static Command CreateRequest(CliContext context)
    {
        var selfId = CommonOptions.SelfIdArgument("The user to ask.");
        var app = CommonOptions.App();
        var server = CommonOptions.Server("The network (default: the one the app was created on).");
        var asynchronous = new Option<bool>("--async")
        {
            Description = "Send the request, print its conversation id at once, then wait for the answer (any instance may wait too: 'self auth wait').",
        };
        var expiry = CommonOptions.Duration("--expiry", "How long the user may answer, e.g. 60s, 5m, 1h; at most 24h. [default: 5m]", AuthenticationService.MaxExpiry);
        var description = new Option<string?>("--description")
        {
            Description = "Why the app asks, shown on the user's device.",
            HelpName = "TEXT",
        };
        var binding = new Option<string?>("--binding-message")
        {
            Description = "A short text (at most 64 characters) shown here and on the device, so the person can match them.",
            HelpName = "TEXT",
        };
        var numberMatching = new Option<bool>("--number-matching")
        {
            Description = "Show a 2-digit number here that the person must type on their device before they can accept (spec 9a).",
        };
        var json = CommonOptions.Json("Print the outcome as JSON (with --async or --number-matching, first a line with the conversation id and number).");
        var deviceId = DeviceIdOption();

        var request = new Command(
            "request",
            "Ask a user to authenticate and wait for the answer. Exit code: 0 accepted, 3 rejected, 4 expired, 1 refused or failed.")
        {
            selfId, app, server, asynchronous, expiry, description, binding, numberMatching, json, deviceId,
        };
        request.SetAction((parse, cancellationToken) => RequestAsync(
            context,
            parse.GetRequiredValue(selfId),
            parse.GetValue(app),
            parse.GetValue(server),
            parse.GetValue(deviceId),
            parse.GetValue(asynchronous),
            new AuthenticationRequestOptions
            {
                Expiry = parse.GetValue(expiry),
                Description = parse.GetValue(description),
                BindingMessage = parse.GetValue(binding),
                NumberMatching = parse.GetValue(numberMatching) ? true : null,
            },
            parse.GetValue(json),
            cancellationToken));
        return request;
    }

    private static Command CreateQr(CliContext context)
    {
        var app = CommonOptions.App();
        var server = CommonOptions.Server("The network (default: the one the app was created on).");
        var expiry = CommonOptions.Duration("--expiry", "How long the code may be answered, e.g. 60s, 5m, 1h; at most 24h. [default: 5m]", AuthenticationService.MaxExpiry);
        var description = new Option<string?>("--description")
        {
            Description = "Why the app asks, shown on the device that scans the code.",
            HelpName = "TEXT",
        };
        var json = CommonOptions.Json("Print {\"cid\",\"payload\"} instead of drawing the code, then the outcome as JSON.");
        var deviceId = DeviceIdOption();

        var qr = new Command(
            "qr",
            "Draw an authentication request as a QR code and wait for whoever scans it. Exit code as for 'auth request'.")
        {
            app, server, expiry, description, json, deviceId,
        };
        qr.SetAction((parse, cancellationToken) => QrAsync(
            context,
            parse.GetValue(app),
            parse.GetValue(server),
            parse.GetValue(deviceId),
            new AuthenticationRequestOptions { Expiry = parse.GetValue(expiry), Description = parse.GetValue(description) },
            parse.GetValue(json),
            cancellationToken));
        return qr;
    }

    private static async Task<int> RequestAsync(
        CliContext context,
        string selfId,
        string? appId,
        Uri? server,
        string? deviceId,
        bool asynchronous,
        AuthenticationRequestOptions options,
        bool json,
        CancellationToken cancellationToken)
    {
        var home = SelfHome.FromEnvironment(context.GetEnvironment);
        var app = home.LoadApp(appId);
        await using var client = await AppSessions.StartAsync(context, home, app, server, cancellationToken, deviceId).ConfigureAwait(false);
        var authentication = client.Authentication;
        var console = context.Console;
        if (!json && options.BindingMessage is { } bindingMessage)
        {
            console.MarkupLine($"Binding message: [bold]{Markup.Escape(bindingMessage)}[/]");
        }

        AuthenticationResponse response;
        if (options.NumberMatching == true)
        {
            var challenge = await authentication.StartAsync(selfId, options, cancellationToken).ConfigureAwait(false);
            if (json)
            {
                JsonOutput.Write(context.Output, new SentOutput(challenge.ConversationId, Payload: null, challenge.Number), OutputJson.Default.SentOutput);
            }
            else
            {
                console.MarkupLine($"Sent request [bold]{Markup.Escape(challenge.ConversationId)}[/] to {Markup.Escape(selfId)} as {Markup.Escape(app.Name)}.");
                console.MarkupLine($"Number to type on the device:  [bold]{Markup.Escape(challenge.Number ?? "-")}[/]");
            }

            response = await Waiting.RunAsync(
                console, json, $"Waiting for {selfId} to type the number and answer…",
                authentication.WaitForResponseAsync(challenge.ConversationId, cancellationToken)).ConfigureAwait(false);
        }
        else if (asynchronous)
        {
            // The SDK's signed cid, so that another instance can wait for it too ('self auth wait'); an answer that
            // arrives before the wait below starts is kept as the request's outcome.
            var cid = await authentication.SendAsync(selfId, options, cancellationToken).ConfigureAwait(false);
            if (json)
            {
                JsonOutput.Write(context.Output, new SentOutput(cid, Payload: null), OutputJson.Default.SentOutput);
            }
            else
            {
                console.MarkupLine($"Sent request [bold]{Markup.Escape(cid)}[/] to {Markup.Escape(selfId)} as {Markup.Escape(app.Name)}.");
            }

            response = await Waiting.RunAsync(
                console, json, $"Waiting for {selfId} to answer {cid}…", authentication.WaitForResponseAsync(cid, cancellationToken)).ConfigureAwait(false);
        }
        else
        {
            response = await Waiting.RunAsync(
                console, json, $"Waiting for {selfId} to answer {app.Name}'s request…", authentication.RequestAsync(selfId, options, cancellationToken))
                .ConfigureAwait(false);
        }

        return Report(context, response, json);
    }

    private static async Task<int> QrAsync(
        CliContext context, string? appId, Uri? server, string? deviceId, AuthenticationRequestOptions options, bool json, CancellationToken cancellationToken)
    {
        var home = SelfHome.FromEnvironment(context.GetEnvironment);
        var app = home.LoadApp(appId);
        await using var client = await AppSessions.StartAsync(context, home, app, server, cancellationToken, deviceId).ConfigureAwait(false);
        var code = await client.Authentication.GenerateQrCodeAsync(options, cancellationToken).ConfigureAwait(false);
        if (json)
        {
            JsonOutput.Write(context.Output, new SentOutput(code.ConversationId, code.Payload), OutputJson.Default.SentOutput);
        }
        else
        {
            // Raw, so that the console never wraps a row of the code; a code wider than the terminal would wrap into noise.
            var width = context.Console.Profile.Width;
            if (TerminalQr.Render(code.Modules, width) is { } drawn)
            {
                await context.Output.WriteLineAsync(drawn).ConfigureAwait(false);
            }
            else
            {
                context.Console.MarkupLine(
                    $"[yellow]This QR code is {TerminalQr.Width(code.Modules)} columns wide and does not fit this {width}-column terminal.[/] "
                    + "Widen the terminal, or paste the request below into the authenticator ('Scan a QR code or open a link') or 'self user scan':");
                await context.Output.WriteLineAsync(code.Payload).ConfigureAwait(false);
            }

            await context.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
            context.Console.MarkupLine($"Scan this code with a Self device to sign in to [bold]{Markup.Escape(app.Name)}[/] (request {Markup.Escape(code.ConversationId)}).");
        }

        var response = await Waiting.RunAsync(
            context.Console,
            json,
            "Waiting for someone to scan the code…",
            client.Authentication.WaitForResponseAsync(code.ConversationId, cancellationToken)).ConfigureAwait(false);
        return Report(context, response, json);
    }

    /// <summary>Prints how a request ended and returns the exit code that says it.</summary>
    internal static int Report(CliContext context, AuthenticationResponse response, bool json)
    {
        var exitCode = ExitCodeOf(response.Status);
        if (json)
        {
            JsonOutput.Write(
                context.Output,
                new OutcomeOutput(StatusName(response.Status), response.SelfId, response.DeviceId, response.ConversationId, response.Reason),
                OutputJson.Default.OutcomeOutput);
            return exitCode;
        }

        var console = context.Console;
        var user = Markup.Escape(response.SelfId);
        switch (response.Status)
        {
            case AuthenticationStatus.Accepted:
                console.MarkupLine($"[green]Accepted[/] by {user} (device {Markup.Escape(response.DeviceId ?? "?")}).");
                break;
            case AuthenticationStatus.Rejected:
                console.MarkupLine($"[red]Rejected[/] by {user} (device {Markup.Escape(response.DeviceId ?? "?")}).");
                break;
            case AuthenticationStatus.Expired:
                console.MarkupLine($"[yellow]Expired[/]: {Markup.Escape(response.Reason ?? $"{response.SelfId} did not answer in time")}.");
                break;
            default:
                context.Error.WriteLine($"{StatusName(response.Status)}: {response.Reason ?? $"{response.SelfId}'s device refused the request"}");
                break;
        }

        return exitCode;
    }

    internal static int ExitCodeOf(AuthenticationStatus status) => status switch
    {
        AuthenticationStatus.Accepted => ExitCodes.Ok,
        AuthenticationStatus.Rejected => ExitCodes.Rejected,
        AuthenticationStatus.Expired => ExitCodes.Expired,
        _ => ExitCodes.Failed,
    };

    internal static string StatusName(AuthenticationStatus status) => status switch
    {
        AuthenticationStatus.Accepted => "accepted",
        AuthenticationStatus.Rejected => "rejected",
        AuthenticationStatus.Unauthorized => "unauthorized",
        AuthenticationStatus.Expired => "expired",
        _ => "errored",
    };
}
