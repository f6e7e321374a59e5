using System.CommandLine;
using System.Diagnostics;
using Self.Authenticator;
using Self.Cli.Home;
using Self.Cli.Terminal;
using Spectre.Console;

namespace Self.Cli.Commands;

/// <summary>
/// <c>self authenticator</c>: the web authenticator for a person, on 127.0.0.1, opened through a one-time login link.
/// </summary>
internal static class AuthenticatorCommand
{
    public static Command Create(CliContext context)
    {
        var port = new Option<int>("--port")
        {
            Description = "The port to listen on (0 picks a free one). [default: 8484]",
            HelpName = "N",
            DefaultValueFactory = _ => 8484,
        };
        port.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 0 or > 65535)
            {
                result.AddError("--port must be between 0 and 65535.");
            }
        });
        var listenAny = new Option<bool>("--listen-any")
        {
            Description = "Listen on every address, not only 127.0.0.1 (other machines could then reach the login page; the link is still needed).",
        };
        var noOpen = new Option<bool>("--no-open") { Description = "Print the login link without opening a browser." };
        var server = CommonOptions.Server($"The network a new identity registers on. [default: {CommonOptions.DefaultServer}]");
        var data = CommonOptions.Data("Folder for the passphrase-locked device and its history. [default: $SELF_HOME/authenticator]");
        var command = new Command("authenticator", "Run the web authenticator: your Self identity in a browser page, until Ctrl-C.")
        {
            port, listenAny, noOpen, server, data,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(
            context,
            parse.GetValue(port),
            parse.GetValue(listenAny),
            parse.GetValue(noOpen),
            parse.GetValue(server) ?? CommonOptions.DefaultServer,
            parse.GetValue(data),
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, int port, bool listenAny, bool noOpen, Uri server, string? data, CancellationToken cancellationToken)
    {
        var folder = data is null ? Path.Combine(SelfHome.FromEnvironment(context.GetEnvironment).Root, "authenticator") : context.ResolvePath(data);
        var authenticator = await StartAsync(
            new AuthenticatorOptions
            {
                ServerUrl = server,
                DataDirectory = folder,
                Port = port,
                ListenAny = listenAny,
                TimeProvider = context.TimeProvider,
                LoggerFactory = context.LoggerFactory,
            },
            cancellationToken).ConfigureAwait(false);

        await using (authenticator.ConfigureAwait(false))
        {
            var link = authenticator.LoginLink.ToString();
            context.Console.MarkupLine($"[green]Self authenticator[/] at {Markup.Escape(authenticator.BaseAddress.ToString())} (data in {Markup.Escape(folder)})");
            context.Console.MarkupLine("Open this one-time link in your browser (it works once; keep it to yourself):");

            // A plain line, never wrapped, so that it can be copied whole.
            await context.Output.WriteLineAsync(link).ConfigureAwait(false);
            await context.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (listenAny)
            {
                context.Console.MarkupLine("[yellow]Listening on every address:[/] other machines can reach the login page (they still need the link).");
            }

            if (!noOpen && TryOpenBrowser(link))
            {
                context.Console.MarkupLine("[grey]Opened it in your browser.[/]");
            }

            context.Console.MarkupLine("[grey]Ctrl-C to stop.[/]");
            await Waiting.UntilStoppedAsync(cancellationToken).ConfigureAwait(false);
        }

        return ExitCodes.Ok;
    }

    /// <summary>Starts the web authenticator; a port in use is one clear line (<see cref="CliException"/>), not a trace.</summary>
    internal static async Task<AuthenticatorServer> StartAsync(AuthenticatorOptions options, CancellationToken cancellationToken)
    {
        try
        {
            return await AuthenticatorServer.StartAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new CliException(ex.Message);
        }
    }

    /// <summary>Opens <paramref name="link"/> in the desktop's browser when there is a desktop; false when it cannot.</summary>
    internal static bool TryOpenBrowser(string link)
    {
        if (!OperatingSystem.IsLinux() || string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DISPLAY")) && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("WAYLAND_DISPLAY")))
        {
            return false;
        }

        try
        {
            // The link is an argument, never parsed by a shell.
            var start = new ProcessStartInfo("xdg-open") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(link);
            using var process = Process.Start(start);
            return process is not null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
