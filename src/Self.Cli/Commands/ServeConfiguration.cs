using Microsoft.Extensions.Configuration;
using Self.Network;
using Self.Network.Hosting;
using Self.Network.Nats;
using Self.Network.PostgreSql;
using Self.Network.Telemetry;

namespace Self.Cli.Commands;

/// <summary>
/// The configuration of <c>self network serve</c>, the ASP.NET Core way: <c>appsettings.json</c> in the working folder
/// (or the file given with <c>--config</c>), then <c>SELF_</c>-prefixed environment variables (<c>__</c> separates
/// sections: <c>SELF_Network__RateLimits__MessagesPerRecipient=20</c>), then flags — each overriding the one before.
/// Sections: <c>Network</c> (every <see cref="SelfNetworkOptions"/> setting), <c>PostgreSql</c>, <c>Nats</c>,
/// <c>Kestrel</c>, <c>ForwardedHeaders</c>, <c>Telemetry</c>, <c>Logging</c> (docs/operations.md lists them).
/// </summary>
internal static class ServeConfiguration
{
    public const string FileName = "appsettings.json";
    public const string EnvironmentPrefix = "SELF_";

    /// <summary>The environment variables of earlier versions, kept as aliases of the configuration keys.</summary>
    private static readonly (string Variable, string Key)[] Aliases =
    [
        ("SELF_ADMIN_TOKEN", "Network:AdminToken"),
        ("SELF_POSTGRES", "PostgreSql:ConnectionString"),
        ("SELF_NATS_URL", "Nats:Url"),
    ];

    private static readonly Action<BinderOptions> Strict = static binder => binder.ErrorOnUnknownConfiguration = true;

    /// <summary>Reads the file, the environment and <paramref name="flags"/> (keys already in configuration form).</summary>
    public static IConfigurationRoot Build(CliContext context, string? configFile, IEnumerable<KeyValuePair<string, string?>> flags)
    {
        var path = context.ResolvePath(configFile ?? FileName);
        if (configFile is not null && !File.Exists(path))
        {
            throw new CliException($"--config: there is no file {path}.", ExitCodes.Usage);
        }

        var environment = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in context.ListEnvironment())
        {
            if (name.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase) && name.Length > EnvironmentPrefix.Length)
            {
                environment[name[EnvironmentPrefix.Length..].Replace("__", ":", StringComparison.Ordinal)] = value;
            }
        }

        foreach (var (variable, key) in Aliases)
        {
            if (NetworkCommands.NonEmpty(context.GetEnvironment(variable)) is { } value && !environment.ContainsKey(key))
            {
                environment[key] = value;
            }
        }

        try
        {
            return new ConfigurationBuilder()
                .AddJsonFile(path, optional: true, reloadOnChange: false)
                .AddInMemoryCollection(environment)
                .AddInMemoryCollection(flags.Where(static f => f.Value is not null))
                .Build();
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or System.Text.Json.JsonException)
        {
            throw new CliException($"{path} is not valid JSON configuration: {ex.Message}", ExitCodes.Usage);
        }
    }

    /// <summary>Binds every section; a setting that is unknown or of the wrong type is a usage error that names it.</summary>
    public static ServeSettings Bind(CliContext context, IConfiguration configuration)
    {
        try
        {
            var network = configuration.GetSection("Network").Get<SelfNetworkOptions>(Strict) ?? new SelfNetworkOptions();
            network = network with
            {
                DataDirectory = context.ResolvePath(NetworkCommands.NonEmpty(network.DataDirectory) ?? CommonOptions.DefaultDataDirectory),
                AdminToken = NetworkCommands.NonEmpty(network.AdminToken),
                TimeProvider = context.TimeProvider,
            };

            var postgresSection = configuration.GetSection("PostgreSql");
            var postgres = NetworkCommands.NonEmpty(postgresSection["ConnectionString"]) is null ? null : postgresSection.Get<SelfPostgreSqlOptions>(Strict);
            var natsSection = configuration.GetSection("Nats");
            var nats = NetworkCommands.NonEmpty(natsSection["Url"]) is null ? null : natsSection.Get<SelfNatsOptions>(Strict);
            var telemetry = configuration.GetSection("Telemetry").Get<SelfNetworkTelemetryOptions>(Strict) ?? new SelfNetworkTelemetryOptions();
            var forwarded = configuration.GetSection("ForwardedHeaders").Get<ForwardedHeadersSettings>(Strict) ?? new ForwardedHeadersSettings();
            var kestrel = configuration.GetSection("Kestrel");
            if (NetworkCommands.NonEmpty(kestrel["Certificates:Default:Path"]) is { } certificate)
            {
                // Kestrel resolves a relative path against the content root; the operator means the working folder.
                var full = context.ResolvePath(certificate);
                if (!File.Exists(full))
                {
                    throw new CliException($"Kestrel:Certificates:Default:Path (--cert): there is no certificate file {full}.", ExitCodes.Usage);
                }

                kestrel["Certificates:Default:Path"] = full;
            }

            if (telemetry.MetricsPort is { } port)
            {
                // The metrics port listens on the host of the first URL, over plain HTTP, and answers only /metrics.
                var first = new Uri(network.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0]);
                network = network with { Urls = $"{network.Urls};http://{first.Host}:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}" };
            }

            var host = new SelfNetworkHostOptions
            {
                Kestrel = kestrel.Exists() ? kestrel : null,
                ForwardedHeaders = forwarded,
            };
            postgres?.Validate();
            nats?.Validate();
            telemetry.Validate();
            host.Validate();
            network.Validate();
            return new ServeSettings(network, host, postgres, nats, telemetry, configuration.GetSection("Logging").Exists() ? configuration.GetSection("Logging") : null);
        }
        catch (InvalidOperationException ex)
        {
            // The binder's own words name the setting ("Failed to convert configuration value at 'Network:…'").
            throw new CliException(ex.Message, ExitCodes.Usage);
        }
        catch (ArgumentException ex)
        {
            throw new CliException(ex.Message, ExitCodes.Usage);
        }
        catch (UriFormatException ex)
        {
            throw new CliException("Network:Urls: " + ex.Message, ExitCodes.Usage);
        }
    }
}

/// <summary>Everything <c>self network serve</c> runs with, bound from configuration.</summary>
internal sealed record ServeSettings(
    SelfNetworkOptions Network,
    SelfNetworkHostOptions Host,
    SelfPostgreSqlOptions? PostgreSql,
    SelfNatsOptions? Nats,
    SelfNetworkTelemetryOptions Telemetry,
    IConfigurationSection? Logging);
