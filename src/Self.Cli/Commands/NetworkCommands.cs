using System.CommandLine;
using Self.Cli.Terminal;
using Self.Network;
using Self.Network.Nats;
using Self.Network.PostgreSql;
using Spectre.Console;

namespace Self.Cli.Commands;

/// <summary>
/// <c>self network serve</c>: the identity registry and message relay, on the embedded store or, for several instances
/// behind one load balancer, on PostgreSQL and NATS JetStream (docs/scale-out.md).
/// </summary>
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
        var postgres = new Option<string?>("--postgres")
        {
            Description = "Keep the registry on PostgreSQL, shared by every instance of the network: an Npgsql connection string "
                + "such as 'Host=db;Username=self;Password=…;Database=self' (else SELF_POSTGRES; else SQLite in the data folder).",
            HelpName = "CONNECTION_STRING",
        };
        var nats = new Option<string?>("--nats")
        {
            Description = "Keep inboxes on NATS JetStream and share live delivery and superseding with the other instances, "
                + "e.g. nats://127.0.0.1:4222 (else SELF_NATS_URL; else SQLite in the data folder).",
            HelpName = "URL",
        };
        var json = CommonOptions.Json("Print where the network listens as one JSON line (with the admin token when it was generated).");

        var serve = new Command("serve", "Run the Self network (identity registry and end-to-end-encrypted relay) until Ctrl-C.")
        {
            urls, data, adminToken, postgres, nats, json,
        };
        serve.SetAction((parse, cancellationToken) => ServeAsync(
            context,
            new ServeSettings(
                parse.GetRequiredValue(urls),
                context.ResolvePath(parse.GetValue(data) ?? CommonOptions.DefaultDataDirectory),
                parse.GetValue(adminToken) ?? NonEmpty(context.GetEnvironment("SELF_ADMIN_TOKEN")),
                NonEmpty(parse.GetValue(postgres)) ?? NonEmpty(context.GetEnvironment("SELF_POSTGRES")),
                NonEmpty(parse.GetValue(nats)) ?? NonEmpty(context.GetEnvironment("SELF_NATS_URL")),
                parse.GetValue(json)),
            cancellationToken));

        return new Command("network", "Run a Self network.") { serve };
    }

    private static async Task<int> ServeAsync(CliContext context, ServeSettings settings, CancellationToken cancellationToken)
    {
        var data = settings.Data;
        var json = settings.Json;
        SelfPostgreSqlOptions? registry;
        SelfNatsOptions? inboxes;
        SelfNetworkOptions options;
        try
        {
            registry = settings.Postgres is null ? null : new SelfPostgreSqlOptions { ConnectionString = settings.Postgres };
            inboxes = settings.Nats is null ? null : new SelfNatsOptions { Url = settings.Nats };
            registry?.Validate();
            inboxes?.Validate();
            options = new SelfNetworkOptions
            {
                Urls = settings.Urls,
                DataDirectory = data,
                AdminToken = settings.AdminToken,
                TimeProvider = context.TimeProvider,
                ConfigureServices = registry is null && inboxes is null ? null : services =>
                {
                    if (registry is not null)
                    {
                        services.AddSelfNetworkPostgreSql(registry);
                    }

                    if (inboxes is not null)
                    {
                        services.AddSelfNetworkNats(inboxes);
                    }
                },
            };
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
            WriteBanner(context.Console, server, data, shared: registry is not null || inboxes is not null, scalesOut: registry is not null && inboxes is not null);
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

    private static void WriteBanner(IAnsiConsole console, SelfNetworkServer server, string data, bool shared, bool scalesOut)
    {
        console.MarkupLine($"[green]Self network listening on[/] [bold]{Markup.Escape(string.Join(", ", server.Addresses))}[/]");
        var grid = new Grid().AddColumn(new GridColumn().PadRight(2)).AddColumn();
        grid.AddRow(new Text("API"), new Text(server.BaseAddress.ToString()));
        grid.AddRow(new Text("Messaging"), new Text(server.MessagingUri.ToString()));
        grid.AddRow(new Text("Registry"), new Text(server.RegistryBackend));
        grid.AddRow(new Text("Inboxes"), new Text(server.InboxBackend));
        grid.AddRow(new Text("Data"), new Text(data));
        console.Write(grid);
        if (shared && !scalesOut)
        {
            console.MarkupLine("[grey]Several instances of one network need both --postgres and --nats.[/]");
        }

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

        if (scalesOut && server.Options.AdminToken is null)
        {
            // The token lives in this instance's data folder, not in the shared backends.
            console.MarkupLine("[yellow]Every instance needs the same admin token: start the others with --admin-token (or SELF_ADMIN_TOKEN) set to it.[/]");
        }

        console.MarkupLine("[grey]Press Ctrl-C to stop.[/]");
    }

    private sealed record ServeSettings(string Urls, string Data, string? AdminToken, string? Postgres, string? Nats, bool Json);

    internal static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
