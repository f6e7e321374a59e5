using System.CommandLine;
using Self.Cli.Terminal;
using Self.Network;
using Self.Network.Nats;
using Self.Network.PostgreSql;
using Self.Network.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
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
        var urls = new Option<string?>("--urls")
        {
            Description = $"Where to listen; several URLs separated by ';'. Port 0 picks a free port; https:// needs --cert. [default: {DefaultUrls}]",
            HelpName = "URL",
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
        var config = new Option<string?>("--config")
        {
            Description = $"A JSON configuration file to read instead of ./{ServeConfiguration.FileName} (SELF_… environment variables and flags override it).",
            HelpName = "FILE",
        };
        var cert = new Option<string?>("--cert")
        {
            Description = "The TLS certificate (.pfx/.p12, or .pem with its key beside it) for https:// URLs (Kestrel:Certificates:Default:Path).",
            HelpName = "FILE",
        };
        var certPassword = new Option<string?>("--cert-password")
        {
            Description = "The certificate's password (Kestrel:Certificates:Default:Password; prefer SELF_Kestrel__Certificates__Default__Password).",
            HelpName = "PASSWORD",
        };
        var logFormat = new Option<string?>("--log-format")
        {
            Description = "Log to stderr as 'simple' lines or 'json' objects, at Information and above (Logging:Console:FormatterName).",
            HelpName = "FORMAT",
        };
        logFormat.AcceptOnlyFromAmong("simple", "json", "systemd");
        var metricsPort = new Option<int?>("--metrics-port")
        {
            Description = "Serve /metrics on this port only, away from the API (Telemetry:MetricsPort). [default: /metrics on the API port]",
            HelpName = "PORT",
        };
        var json = CommonOptions.Json("Print where the network listens as one JSON line (with the admin token when it was generated).");

        var serve = new Command("serve", "Run the Self network (identity registry and end-to-end-encrypted relay) until Ctrl-C.")
        {
            urls, data, adminToken, postgres, nats, config, cert, certPassword, logFormat, metricsPort, json,
        };
        serve.SetAction((parse, cancellationToken) =>
        {
            // Flags override SELF_ variables, which override appsettings.json (ServeConfiguration).
            var flags = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
            {
                ["Network:Urls"] = NonEmpty(parse.GetValue(urls)),
                ["Network:DataDirectory"] = NonEmpty(parse.GetValue(data)),
                ["Network:AdminToken"] = parse.GetValue(adminToken),
                ["PostgreSql:ConnectionString"] = NonEmpty(parse.GetValue(postgres)),
                ["Nats:Url"] = NonEmpty(parse.GetValue(nats)),
                ["Kestrel:Certificates:Default:Path"] = NonEmpty(parse.GetValue(cert)),
                ["Kestrel:Certificates:Default:Password"] = parse.GetValue(certPassword),
                ["Logging:Console:FormatterName"] = parse.GetValue(logFormat),
                ["Telemetry:MetricsPort"] = parse.GetValue(metricsPort)?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            var configuration = ServeConfiguration.Build(context, NonEmpty(parse.GetValue(config)), flags);
            return ServeAsync(context, ServeConfiguration.Bind(context, configuration), parse.GetValue(json), cancellationToken);
        });

        return new Command("network", "Run a Self network.") { serve };
    }

    private static async Task<int> ServeAsync(CliContext context, ServeSettings settings, bool json, CancellationToken cancellationToken)
    {
        var registry = settings.PostgreSql;
        var inboxes = settings.Nats;
        var telemetry = settings.Telemetry;
        var options = settings.Network with
        {
            ConfigureServices = services =>
            {
                if (registry is not null)
                {
                    services.AddSelfNetworkPostgreSql(registry);
                }

                if (inboxes is not null)
                {
                    services.AddSelfNetworkNats(inboxes);
                }

                services.AddSelfNetworkTelemetry(telemetry);
            },
        };
        var data = options.DataDirectory;

        // A Logging section (or --log-format) means the operator wants the server's logs, as ASP.NET Core would give them.
        using var ownLoggers = settings.Logging is { } logging ? CreateLoggerFactory(logging) : null;
        await using var server = await SelfNetworkServer.StartAsync(options, settings.Host, ownLoggers ?? context.LoggerFactory, cancellationToken).ConfigureAwait(false);
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

        await Waiting.UntilStoppedAsync(cancellationToken).ConfigureAwait(false);

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

    private static ILoggerFactory CreateLoggerFactory(IConfiguration logging) => LoggerFactory.Create(builder => builder
        .AddConfiguration(logging)
        .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace));

    internal static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
