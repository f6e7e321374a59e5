using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Self.Network.Storage;

namespace Self.Network.Nats;

/// <summary>
/// Puts the network's inboxes on NATS JetStream, and announces new messages and new connections to every instance over NATS.
/// </summary>
public static class NatsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the JetStream inbox store, the NATS notifier and the NATS connection claims (superseding across
    /// instances) in place of the default ones. Call it before or after
    /// <c>AddSelfNetwork</c>: either way these win. The stream is created or updated when the server starts.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="url">The NATS server(s), e.g. <c>nats://127.0.0.1:4222</c>; every instance of one network uses the same.</param>
    public static IServiceCollection AddSelfNetworkNats(this IServiceCollection services, string url) =>
        services.AddSelfNetworkNats(new SelfNatsOptions { Url = url });

    /// <summary>Registers the JetStream inbox store and the NATS notifier with <paramref name="options"/> (validated now).</summary>
    public static IServiceCollection AddSelfNetworkNats(this IServiceCollection services, SelfNatsOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        services.AddLogging();
        services.RemoveAll<SelfNatsConnection>();
        services.AddSingleton(sp => new SelfNatsConnection(options, sp.GetService<ILoggerFactory>()));
        services.RemoveAll<IInboxStore>();
        services.AddSingleton<IInboxStore>(sp => new NatsInboxStore(
            sp.GetRequiredService<SelfNatsConnection>(),
            sp.GetService<SelfNetworkOptions>(),
            sp.GetService<ILogger<NatsInboxStore>>()));
        services.TryAddSingleton<NatsInboxNotifier>();
        services.RemoveAll<IInboxNotifier>();
        services.AddSingleton<IInboxNotifier>(static sp => sp.GetRequiredService<NatsInboxNotifier>());

        services.TryAddSingleton(static sp => new NatsAddressClaims(
            sp.GetRequiredService<SelfNatsConnection>(),
            sp.GetService<SelfNetworkOptions>()?.TimeProvider,
            sp.GetService<ILogger<NatsAddressClaims>>()));
        services.RemoveAll<IAddressClaims>();
        services.AddSingleton<IAddressClaims>(static sp => sp.GetRequiredService<NatsAddressClaims>());

        // Listening starts with the host, before Kestrel takes the first connection.
        services.AddHostedService(static sp => sp.GetRequiredService<NatsInboxNotifier>());
        services.AddHostedService(static sp => sp.GetRequiredService<NatsAddressClaims>());
        return services;
    }
}
