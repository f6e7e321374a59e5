using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Self.Sdk;

/// <summary>Registers a <see cref="SelfClient"/> in a service collection.</summary>
public static class SelfClientServiceCollectionExtensions
{
    /// <summary>
    /// Adds one <see cref="SelfClient"/> (singleton) built from the options the factory returns, started and stopped with
    /// the host. The host's <see cref="ILoggerFactory"/> is used when the options name none.
    /// </summary>
    /// <remarks>
    /// A client that cannot start (invalid options, a secret the network refuses, the network unreachable) does not stop
    /// the host: the failure is logged as one error line naming what to fix, <see cref="SelfClient.Status"/> reports
    /// <see cref="SelfClientStatus.Failed"/>, health checks report it unhealthy, and the client's calls throw
    /// <see cref="InvalidOperationException"/> carrying the reason.
    /// </remarks>
    public static IServiceCollection AddSelfClient(this IServiceCollection services, Func<IServiceProvider, SelfClientOptions> optionsFactory)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(optionsFactory);
        services.TryAddSingleton(provider =>
        {
            var options = optionsFactory(provider);
            if (options.LoggerFactory is null && provider.GetService<ILoggerFactory>() is { } loggers)
            {
                options = options with { LoggerFactory = loggers };
            }

            options.Validate();
            return new SelfClient(options);
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SelfClientHostedService>());
        return services;
    }

    /// <summary>Adds one <see cref="SelfClient"/> built from <paramref name="options"/>.</summary>
    public static IServiceCollection AddSelfClient(this IServiceCollection services, SelfClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return services.AddSelfClient(_ => options);
    }

    /// <summary>
    /// Adds one <see cref="SelfClient"/> whose options are read from <paramref name="configuration"/>, typically
    /// <c>builder.Configuration.GetSection("Self")</c>: <c>AppId</c>, <c>AppSecret</c>, <c>StorageKey</c> and
    /// <c>StorageDirectory</c> are required; <c>ApiUrl</c>, <c>MessagingUrl</c>, <c>Environment</c>, <c>DeviceId</c>,
    /// <c>DefaultExpiry</c> (a time span such as <c>00:05:00</c>), <c>LinksBaseUrl</c>, <c>MaxRetries</c> and <c>NumberMatching</c> are optional.
    /// A <see cref="TimeProvider"/> registered in the container is used as the client's clock.
    /// </summary>
    public static IServiceCollection AddSelfClient(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddSelfClient(provider =>
            ReadOptions(configuration) with { TimeProvider = provider.GetService<TimeProvider>() ?? TimeProvider.System });
    }

    /// <summary>Reads <see cref="SelfClientOptions"/> from a configuration section; a missing or malformed key throws naming it.</summary>
    /// <exception cref="ArgumentException">A required key is missing or a value cannot be read.</exception>
    public static SelfClientOptions ReadOptions(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var defaults = new SelfClientOptions { AppId = "", AppSecret = "", StorageKey = "", StorageDirectory = "" };
        return new SelfClientOptions
        {
            AppId = Required(configuration, nameof(SelfClientOptions.AppId)),
            AppSecret = Required(configuration, nameof(SelfClientOptions.AppSecret)),
            StorageKey = Required(configuration, nameof(SelfClientOptions.StorageKey)),
            StorageDirectory = Required(configuration, nameof(SelfClientOptions.StorageDirectory)),
            ApiUrl = Parse(configuration, nameof(SelfClientOptions.ApiUrl), v => new Uri(v, UriKind.Absolute), defaults.ApiUrl),
            MessagingUrl = Parse(configuration, nameof(SelfClientOptions.MessagingUrl), v => new Uri(v, UriKind.Absolute), defaults.MessagingUrl),
            Environment = configuration[nameof(SelfClientOptions.Environment)] ?? defaults.Environment,
            DeviceId = configuration[nameof(SelfClientOptions.DeviceId)] ?? defaults.DeviceId,
            DefaultExpiry = Parse(configuration, nameof(SelfClientOptions.DefaultExpiry), v => TimeSpan.Parse(v, CultureInfo.InvariantCulture), defaults.DefaultExpiry),
            LinksBaseUrl = Parse(configuration, nameof(SelfClientOptions.LinksBaseUrl), v => new Uri(v, UriKind.Absolute), defaults.LinksBaseUrl),
            MaxRetries = Parse(configuration, nameof(SelfClientOptions.MaxRetries), v => int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture), defaults.MaxRetries),
            NumberMatching = Parse(configuration, nameof(SelfClientOptions.NumberMatching), bool.Parse, defaults.NumberMatching),
        };
    }

    private static string Required(IConfiguration configuration, string key) =>
        configuration[key] is { Length: > 0 } value
            ? value
            : throw new ArgumentException($"Configuration key '{PathOf(configuration, key)}' is missing: set it (appsettings.json, an environment variable or user secrets).", key);

    private static T Parse<T>(IConfiguration configuration, string key, Func<string, T> parse, T fallback)
    {
        if (configuration[key] is not { Length: > 0 } value)
        {
            return fallback;
        }

        try
        {
            return parse(value);
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or UriFormatException)
        {
            throw new ArgumentException($"Configuration key '{PathOf(configuration, key)}' has a value that is not a {typeof(T).Name}: {ex.Message}", key, ex);
        }
    }

    private static string PathOf(IConfiguration configuration, string key) =>
        configuration is IConfigurationSection { Path.Length: > 0 } section ? ConfigurationPath.Combine(section.Path, key) : key;

    private sealed class SelfClientHostedService(IServiceProvider services, ILogger<SelfClient>? logger = null) : IHostedService
    {
        private SelfClient? _client;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            try
            {
                _client = services.GetRequiredService<SelfClient>();
                await _client.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The host keeps running (health checks and the rest of the app work); one line says what to fix.
                if (logger is not null)
                {
                    Log.StartFailed(logger, ex.GetType().Name, ex.Message);
                }
            }
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            if (_client is not null)
            {
                await _client.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
