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

    private sealed class SelfClientHostedService(SelfClient client) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => client.StartAsync(cancellationToken);

        public async Task StopAsync(CancellationToken cancellationToken) => await client.DisposeAsync().ConfigureAwait(false);
    }
}
