using Microsoft.Extensions.Logging;
using Self.Network.Authentication;
using Self.Network.Diagnostics;
using Self.Network.Policy;
using Self.Network.Storage;

namespace Self.Network.Relay;

/// <summary>Everything a messaging connection needs, resolved once.</summary>
internal sealed class RelayContext(
    SelfNetworkOptions options,
    TokenAuthenticator authenticator,
    IIdentityStore identities,
    IDeviceStore devices,
    IConnectionStore connections,
    IInboxStore inboxes,
    IInboxNotifier notifier,
    IAddressClaims claims,
    RateLimits rateLimits,
    NetworkMetrics metrics,
    RelayHub hub,
    ILogger<RelaySession> logger)
{
    public SelfNetworkOptions Options { get; } = options;

    public TokenAuthenticator Authenticator { get; } = authenticator;

    public IIdentityStore Identities { get; } = identities;

    public IDeviceStore Devices { get; } = devices;

    public IConnectionStore Connections { get; } = connections;

    public IInboxStore Inboxes { get; } = inboxes;

    public IInboxNotifier Notifier { get; } = notifier;

    public IAddressClaims Claims { get; } = claims;

    public RateLimits RateLimits { get; } = rateLimits;

    public NetworkMetrics Metrics { get; } = metrics;

    public RelayHub Hub { get; } = hub;

    public ILogger Logger { get; } = logger;
}
