using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using Self.Oidc;
using Self.Oidc.Clients;
using Self.Oidc.Keys;
using Spectre.Console;

using Self.Cli.Terminal;

namespace Self.Cli.Commands;

/// <summary>
/// <c>self oidc serve</c> runs the OpenID Provider backed by Self (docs/oidc.md); <c>self oidc client add|list|remove</c>
/// manage its clients in the same database.
/// </summary>
internal static class OidcCommands
{
    public const string DefaultUrls = "http://127.0.0.1:5100";
    public const string DefaultDataDirectory = "./.self-oidc";

    public static Command Create(CliContext context)
    {
        var data = new Option<string?>("--data") { Description = $"The provider's folder: SQLite database, its Self app, its Self store. [default: {DefaultDataDirectory}]", HelpName = "DIR" };
        var postgres = new Option<string?>("--postgres")
        {
            Description = "Keep clients, grants, CIBA requests and keys on PostgreSQL (an Npgsql connection string; else SELF_OIDC_POSTGRES; else SQLite in the data folder).",
            HelpName = "CONNECTION_STRING",
        };

        return new Command("oidc", "An OpenID Connect provider backed by Self: CIBA (poll, ping) and the authorization code flow.")
        {
            Serve(context, data, postgres),
            Clients(context, data, postgres),
            Keys(context, data, postgres),
        };
    }

    private static Command Serve(CliContext context, Option<string?> data, Option<string?> postgres)
    {
        var urls = new Option<string>("--urls") { Description = $"Where to listen, ';'-separated. [default: {DefaultUrls}]", HelpName = "URL", DefaultValueFactory = _ => DefaultUrls };
        var server = CommonOptions.Server("The Self network the provider asks users on.");
        var issuer = new Option<Uri?>("--issuer") { Description = "The issuer URL published in discovery (default: the first listening address).", HelpName = "URL" };
        var appId = new Option<string?>("--app-id")
        {
            Description = "The provider's Self app (its secret in SELF_OIDC_APP_SECRET, its store key in SELF_OIDC_STORAGE_KEY). "
                + "Default: the app saved in the data folder, or one created on the first start with SELF_ADMIN_TOKEN.",
            HelpName = "APP_ID",
        };
        var adminToken = new Option<string?>("--admin-token") { Description = "The network's admin token, to create the provider's app on the first start (else SELF_ADMIN_TOKEN).", HelpName = "TOKEN" };
        var deviceId = new Option<string>("--device-id")
        {
            Description = "The device id this instance connects as; each of several instances on one PostgreSQL needs its own (docs/app-devices.md). [default: 1]",
            HelpName = "ID",
            DefaultValueFactory = _ => "1",
        };
        var json = CommonOptions.Json("Print where the provider listens as one JSON line.");
        var serve = new Command("serve", "Run the OpenID Provider until Ctrl-C.") { urls, data, postgres, server, issuer, appId, deviceId, adminToken, json };
        serve.SetAction(async (parse, cancellationToken) =>
        {
            SelfOidcApp? app = null;
            if (NetworkCommands.NonEmpty(parse.GetValue(appId)) is { } id)
            {
                var secret = NetworkCommands.NonEmpty(context.GetEnvironment("SELF_OIDC_APP_SECRET"))
                    ?? throw new CliException("--app-id needs the app's secret in SELF_OIDC_APP_SECRET.", ExitCodes.Usage);
                var storageKey = NetworkCommands.NonEmpty(context.GetEnvironment("SELF_OIDC_STORAGE_KEY"))
                    ?? throw new CliException("--app-id needs a key for the provider's encrypted Self store in SELF_OIDC_STORAGE_KEY.", ExitCodes.Usage);
                app = new SelfOidcApp(id, secret, storageKey);
            }

            SelfOidcOptions options;
            try
            {
                options = new SelfOidcOptions
                {
                    Urls = parse.GetRequiredValue(urls),
                    DataDirectory = DataPath(context, parse.GetValue(data)),
                    PostgresConnectionString = Postgres(context, parse.GetValue(postgres)),
                    NetworkUrl = parse.GetValue(server) ?? CommonOptions.DefaultServer,
                    Issuer = parse.GetValue(issuer),
                    App = app,
                    AppDeviceId = parse.GetRequiredValue(deviceId),
                    AdminToken = NetworkCommands.NonEmpty(parse.GetValue(adminToken)) ?? NetworkCommands.NonEmpty(context.GetEnvironment("SELF_ADMIN_TOKEN")),
                    TimeProvider = context.TimeProvider,
                    LoggerFactory = context.LoggerFactory,
                };
                options.Validate();
            }
            catch (ArgumentException ex)
            {
                throw new CliException(ex.Message, ExitCodes.Usage);
            }

            SelfOidcServer provider;
            try
            {
                provider = await SelfOidcServer.StartAsync(options, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException ex)
            {
                throw new CliException(ex.Message);
            }

            await using (provider.ConfigureAwait(false))
            {
                if (parse.GetValue(json))
                {
                    await context.Output.WriteLineAsync(JsonSerializer.Serialize(
                        new OidcServeOutput(provider.Issuer.AbsoluteUri, new Uri(provider.Issuer, ".well-known/openid-configuration").AbsoluteUri, provider.AppId, options.DataDirectory),
                        OidcJson.Default.OidcServeOutput)).ConfigureAwait(false);
                }
                else
                {
                    context.Console.MarkupLine($"[green]Self OpenID Provider listening on[/] [bold]{Markup.Escape(provider.BaseAddress.ToString())}[/]");
                    context.Console.MarkupLine($"Discovery: {Markup.Escape(new Uri(provider.Issuer, ".well-known/openid-configuration").AbsoluteUri)}");
                    context.Console.MarkupLine($"Self app users connect to: [bold]{Markup.Escape(provider.AppId)}[/]");
                    context.Console.MarkupLine($"Storage: {(options.PostgresConnectionString is null ? Markup.Escape(options.DataDirectory) : "PostgreSQL")}");
                    context.Console.MarkupLine("[grey]Press Ctrl-C to stop.[/]");
                }

                await Waiting.UntilStoppedAsync(cancellationToken).ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        });
        return serve;
    }

    private static Command Clients(CliContext context, Option<string?> data, Option<string?> postgres)
    {
        var name = new Option<string>("--name") { Description = "The client's name, shown to users (\"Sign in to …\").", Required = true };
        var redirect = new Option<string[]>("--redirect-uri") { Description = "An exact redirect URI for the code flow (repeat for several).", HelpName = "URL", AllowMultipleArgumentsPerToken = false };
        var mode = new Option<string?>("--ciba-mode") { Description = "Allow CIBA with this token delivery mode.", HelpName = "poll|ping" };
        mode.AcceptOnlyFromAmong("poll", "ping");
        var notify = new Option<Uri?>("--notification-endpoint") { Description = "The ping client's client_notification_endpoint.", HelpName = "URL" };
        var jwks = new Option<string?>("--jwks-file") { Description = "A JWKS file with the client's public keys (private_key_jwt, signed request objects).", HelpName = "FILE" };
        var isPublic = new Option<bool>("--public") { Description = "A public client (browser or native app): no secret, PKCE S256 required." };
        var json = CommonOptions.Json();
        var add = new Command("add", "Register a client; prints its id and secret (the secret only this once).") { name, redirect, mode, notify, jwks, isPublic, data, postgres, json };
        add.SetAction(async (parse, cancellationToken) =>
        {
            string? keys = null;
            if (parse.GetValue(jwks) is { } file)
            {
                keys = await File.ReadAllTextAsync(context.ResolvePath(file), cancellationToken).ConfigureAwait(false);
            }

            var redirects = new List<Uri>();
            foreach (var uri in parse.GetValue(redirect) ?? [])
            {
                redirects.Add(Uri.TryCreate(uri, UriKind.Absolute, out var parsed) ? parsed : throw new CliException($"--redirect-uri '{uri}' is not an absolute URL.", ExitCodes.Usage));
            }

            await using var clients = await OpenAsync(context, parse.GetValue(data), parse.GetValue(postgres), cancellationToken).ConfigureAwait(false);
            OidcClientCreated created;
            try
            {
                created = await clients.AddAsync(
                    new OidcClientRegistration
                    {
                        Name = parse.GetRequiredValue(name),
                        RedirectUris = redirects,
                        CibaMode = parse.GetValue(mode),
                        NotificationEndpoint = parse.GetValue(notify),
                        JsonWebKeySet = keys,
                        Public = parse.GetValue(isPublic),
                    },
                    cancellationToken).ConfigureAwait(false);
            }
            catch (ArgumentException ex)
            {
                throw new CliException(ex.Message, ExitCodes.Usage);
            }

            if (parse.GetValue(json))
            {
                await context.Output.WriteLineAsync(JsonSerializer.Serialize(new OidcClientOutput(created.ClientId, created.ClientSecret), OidcJson.Default.OidcClientOutput)).ConfigureAwait(false);
            }
            else
            {
                context.Console.MarkupLine($"client_id:     [bold]{Markup.Escape(created.ClientId)}[/]");
                if (created.ClientSecret is { } secret)
                {
                    context.Console.MarkupLine($"client_secret: [bold yellow]{Markup.Escape(secret)}[/]  (shown once: only its hash is kept)");
                }
            }

            return ExitCodes.Ok;
        });

        var listJson = CommonOptions.Json();
        var list = new Command("list", "List the clients (never their secrets).") { data, postgres, listJson };
        list.SetAction(async (parse, cancellationToken) =>
        {
            await using var clients = await OpenAsync(context, parse.GetValue(data), parse.GetValue(postgres), cancellationToken).ConfigureAwait(false);
            var all = await clients.ListAsync(cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(listJson))
            {
                await context.Output.WriteLineAsync(JsonSerializer.Serialize(all.ToList(), OidcJson.Default.ListOidcClientInfo)).ConfigureAwait(false);
                return ExitCodes.Ok;
            }

            var table = new Table().AddColumns("client_id", "name", "type", "ciba", "redirect URIs");
            foreach (var c in all)
            {
                table.AddRow(Markup.Escape(c.ClientId), Markup.Escape(c.Name), c.Type, Markup.Escape(c.CibaMode ?? "-"), Markup.Escape(string.Join(' ', c.RedirectUris)));
            }

            context.Console.Write(table);
            return ExitCodes.Ok;
        });

        var clientId = new Argument<string>("client-id") { Description = "The client to remove." };
        var remove = new Command("remove", "Remove a client.") { clientId, data, postgres };
        remove.SetAction(async (parse, cancellationToken) =>
        {
            await using var clients = await OpenAsync(context, parse.GetValue(data), parse.GetValue(postgres), cancellationToken).ConfigureAwait(false);
            var id = parse.GetRequiredValue(clientId);
            if (!await clients.RemoveAsync(id, cancellationToken).ConfigureAwait(false))
            {
                throw new CliException($"No client has id '{id}'.");
            }

            context.Console.MarkupLine($"Removed {Markup.Escape(id)}.");
            return ExitCodes.Ok;
        });

        return new Command("client", "Manage the provider's clients.") { add, list, remove };
    }

    private static Command Keys(CliContext context, Option<string?> data, Option<string?> postgres)
    {
        var rotate = new Command("rotate", "Add a new signing key: providers sign with it from their next start and keep publishing the old ones.") { data, postgres };
        rotate.SetAction(async (parse, cancellationToken) =>
        {
            var kid = await SelfOidcKeys.RotateAsync(DataPath(context, parse.GetValue(data)), Postgres(context, parse.GetValue(postgres)), context.TimeProvider, cancellationToken).ConfigureAwait(false);
            context.Console.MarkupLine($"New signing key [bold]{Markup.Escape(kid)}[/]; restart the provider(s) to sign with it.");
            return ExitCodes.Ok;
        });
        return new Command("keys", "Manage the provider's signing keys.") { rotate };
    }

    private static Task<SelfOidcClients> OpenAsync(CliContext context, string? data, string? postgres, CancellationToken cancellationToken) =>
        SelfOidcClients.OpenAsync(DataPath(context, data), Postgres(context, postgres), cancellationToken);

    private static string DataPath(CliContext context, string? data) => context.ResolvePath(data ?? DefaultDataDirectory);

    private static string? Postgres(CliContext context, string? postgres) =>
        NetworkCommands.NonEmpty(postgres) ?? NetworkCommands.NonEmpty(context.GetEnvironment("SELF_OIDC_POSTGRES"));
}

internal sealed record OidcServeOutput(
    [property: JsonPropertyName("issuer")] string Issuer,
    [property: JsonPropertyName("discovery")] string Discovery,
    [property: JsonPropertyName("app_id")] string AppId,
    [property: JsonPropertyName("data")] string Data);

internal sealed record OidcClientOutput(
    [property: JsonPropertyName("client_id")] string ClientId,
    [property: JsonPropertyName("client_secret")] string? ClientSecret);

[JsonSerializable(typeof(OidcServeOutput))]
[JsonSerializable(typeof(OidcClientOutput))]
[JsonSerializable(typeof(List<OidcClientInfo>))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
internal sealed partial class OidcJson : JsonSerializerContext;
