using System.CommandLine;
using System.Net;
using Self.Cli.Home;
using Self.Cli.Terminal;
using Self.Network.Hosting;
using Self.Protocol;
using Self.Sdk.Apps;
using Spectre.Console;

namespace Self.Cli.Commands;

/// <summary><c>self app create</c>: registers an app with the operator's admin token and keeps its keys.</summary>
internal static class AppCommands
{
    public static Command Create(CliContext context)
    {
        var name = new Option<string>("--name")
        {
            Description = "The app's name, shown to users.",
            HelpName = "NAME",
            Required = true,
        };
        name.Validators.Add(result =>
        {
            if (string.IsNullOrWhiteSpace(result.GetValueOrDefault<string>()))
            {
                result.AddError("--name must not be empty.");
            }
        });
        var server = CommonOptions.Server($"The network to register on. [default: {CommonOptions.DefaultServer}]");
        var adminToken = new Option<string?>("--admin-token")
        {
            Description = "The operator's admin token (else SELF_ADMIN_TOKEN, else the one in the local network's data folder).",
            HelpName = "TOKEN",
        };
        var data = CommonOptions.Data($"The local network's data folder, where its admin token is kept. [default: {CommonOptions.DefaultDataDirectory}]");
        var json = CommonOptions.Json("Print the new app as JSON: {\"id\",\"name\",\"secret\",\"recovery_secret\",\"server\"}.");

        var create = new Command("create", "Register a new app and print its id and secret key (once).")
        {
            name, server, adminToken, data, json,
        };
        create.SetAction((parse, cancellationToken) => CreateAsync(
            context,
            parse.GetRequiredValue(name).Trim(),
            parse.GetValue(server) ?? CommonOptions.DefaultServer,
            parse.GetValue(adminToken),
            parse.GetValue(data),
            parse.GetValue(json),
            cancellationToken));

        return new Command("app", "Register apps (the network operator, with the admin token).") { create };
    }

    private static async Task<int> CreateAsync(
        CliContext context, string name, Uri server, string? adminToken, string? data, bool json, CancellationToken cancellationToken)
    {
        var (token, source) = FindAdminToken(context, adminToken, data);
        var home = SelfHome.FromEnvironment(context.GetEnvironment);
        CreatedApp created;
        try
        {
            created = await SelfApps.CreateAsync(server, token, name, context.TimeProvider, httpClient: null, cancellationToken).ConfigureAwait(false);
        }
        catch (SelfApiException ex) when (ex.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw new CliException($"The network at {server} refused the admin token from {source}: {ex.Message}");
        }

        var profile = new AppProfile(created.AppId, created.Name, created.Secret, created.RecoverySecret, SelfHome.NewStorageKey(), server.ToString());
        home.SaveApp(profile);

        if (json)
        {
            JsonOutput.Write(
                context.Output,
                new AppOutput(created.AppId, created.Name, created.Secret, created.RecoverySecret, server.ToString()),
                OutputJson.Default.AppOutput);
            return ExitCodes.Ok;
        }

        var console = context.Console;
        console.MarkupLine($"[green]Created app[/] [bold]{Markup.Escape(created.Name)}[/] on {Markup.Escape(server.ToString())}");
        // Plain lines, never wrapped by the console, so that each key can be copied whole.
        await context.Output.WriteLineAsync($"App ID        {created.AppId}").ConfigureAwait(false);
        await context.Output.WriteLineAsync($"Secret key    {created.Secret}").ConfigureAwait(false);
        await context.Output.WriteLineAsync($"Recovery key  {created.RecoverySecret}").ConfigureAwait(false);
        await context.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        console.MarkupLine("[yellow]The keys are shown once: keep them.[/] This machine keeps a copy in");
        console.MarkupLine($"  {Markup.Escape(home.Root)} (the default app for 'self auth' from now on).");
        return ExitCodes.Ok;
    }

    /// <summary>The admin token from the option, else <c>SELF_ADMIN_TOKEN</c>, else the local network's data folder.</summary>
    private static (string Token, string Source) FindAdminToken(CliContext context, string? option, string? data)
    {
        if (NetworkCommands.NonEmpty(option) is { } given)
        {
            return (given, "--admin-token");
        }

        if (NetworkCommands.NonEmpty(context.GetEnvironment("SELF_ADMIN_TOKEN")) is { } environment)
        {
            return (environment, "SELF_ADMIN_TOKEN");
        }

        var file = Path.Combine(context.ResolvePath(data ?? CommonOptions.DefaultDataDirectory), AdminTokenProvider.FileName);
        if (File.Exists(file) && NetworkCommands.NonEmpty(File.ReadAllText(file)) is { } stored)
        {
            return (stored, file);
        }

        throw new CliException(
            $"No admin token: pass --admin-token, set SELF_ADMIN_TOKEN, or run where 'self network serve' keeps its data ({file} does not exist; --data names another folder).");
    }
}
