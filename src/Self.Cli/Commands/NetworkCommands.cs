using System.CommandLine;
using Self.Cli.Terminal;
using Self.Network;
using Spectre.Console;

namespace Self.Cli.Commands;

/// <summary><c>self network serve</c>: the identity registry and message relay on the embedded store.</summary>
internal static class NetworkCommands
{
    public const string DefaultUrls = "http://127.0.0.1:8080";

    public static Command Create(CliContext context)
    {
        var urls = new Option<string>("--urls")
        {
            Description = $"Where to listen; several URLs separated by ';'. Port 0 picks a free port. [default: {DefaultUrls}]",
            HelpName = "URL",
            DefaultValueFactory = _ => DefaultUrls,
        };
        var data = CommonOptions.Data($"Folder for the database and the generated admin token. [default: {CommonOptions.DefaultDataDirectory}]");
        var adminToken = new Option<string?>("--admin-token")
        {
            Description = "The operator's token that may create apps (else SELF_ADMIN_TOKEN, else the one kept in the data folder, else a new one).",
            HelpName = "TOKEN",
        };
        var json = CommonOptions.Json("Print where the network listens as one JSON line (with the admin token when it was generated).");

        var serve = new Command("serve", "Run the Self network (identity registry and end-to-end-encrypted relay) until Ctrl-C.")
        {
            urls, data, adminToken, json,
        };
        serve.SetAction((parse, cancellationToken) => ServeAsync(
            context,
            parse.GetRequiredValue(urls),
            context.ResolvePath(parse.GetValue(data) ?? CommonOptions.DefaultDataDirectory),
            parse.GetValue(adminToken) ?? NonEmpty(context.GetEnvironment("SELF_ADMIN_TOKEN")),
            parse.GetValue(json),
            cancellationToken));

        return new Command("network", "Run a Self network.") { serve };
    }

    private static async Task<int> ServeAsync(
        CliContext context, string urls, string data, string? adminToken, bool json, CancellationToken cancellationToken)
    {
        var options = new SelfNetworkOptions { Urls = urls, DataDirectory = data, AdminToken = adminToken, TimeProvider = context.TimeProvider };
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new CliException(ex.Message, ExitCodes.Usage);
        }

        await using var server = await SelfNetworkServer.StartAsync(options, context.LoggerFactory, cancellationToken).ConfigureAwait(false);
        if (json)
        {
            JsonOutput.Write(
                context.Output,
                new ServeOutput(
                    server.BaseAddress.ToString(),
                    server.MessagingUri.ToString(),
                    data,
                    server.AdminTokenPath,
                    server.AdminTokenGenerated ? server.AdminToken : null),
                OutputJson.Default.ServeOutput);
        }
        else
        {
            WriteBanner(context.Console, server, data);
        }

        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C: the normal way to stop.
        }

        if (!json)
        {
            context.Console.MarkupLine("[grey]Stopping…[/]");
        }

        await server.StopAsync(CancellationToken.None).ConfigureAwait(false);
        if (!json)
        {
            context.Console.MarkupLine("Stopped.");
        }

        return ExitCodes.Ok;
    }

    private static void WriteBanner(IAnsiConsole console, SelfNetworkServer server, string data)
    {
        console.MarkupLine($"[green]Self network listening on[/] [bold]{Markup.Escape(string.Join(", ", server.Addresses))}[/]");
        var grid = new Grid().AddColumn(new GridColumn().PadRight(2)).AddColumn();
        grid.AddRow(new Text("API"), new Text(server.BaseAddress.ToString()));
        grid.AddRow(new Text("Messaging"), new Text(server.MessagingUri.ToString()));
        grid.AddRow(new Text("Data"), new Text(data));
        console.Write(grid);
        if (server.AdminTokenGenerated)
        {
            // The one time the operator sees it; it stays in the file for 'self app create' on this machine.
            console.MarkupLine($"Admin token (shown once, kept in {Markup.Escape(server.AdminTokenPath)}):");
            console.MarkupLine($"  [bold yellow]{Markup.Escape(server.AdminToken)}[/]");
        }
        else if (server.Options.AdminToken is null)
        {
            console.MarkupLine($"Admin token: the one kept in {Markup.Escape(server.AdminTokenPath)}");
        }
        else
        {
            console.MarkupLine("Admin token: the one given with --admin-token or SELF_ADMIN_TOKEN");
        }

        console.MarkupLine("[grey]Press Ctrl-C to stop.[/]");
    }

    internal static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
