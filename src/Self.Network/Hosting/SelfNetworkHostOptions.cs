using Microsoft.Extensions.Configuration;

namespace Self.Network.Hosting;

/// <summary>
/// How <see cref="SelfNetworkServer"/> hosts the network beyond <see cref="SelfNetworkOptions"/>: Kestrel's own
/// configuration (TLS certificates, endpoints, limits) and forwarded headers behind a reverse proxy.
/// </summary>
public sealed record SelfNetworkHostOptions
{
    /// <summary>
    /// The <c>Kestrel</c> configuration section, read as ASP.NET Core reads it: <c>Certificates:Default:Path</c> and
    /// <c>:Password</c> (or <c>:Subject</c>/<c>:Store</c>) give the certificate for <c>https://</c> URLs;
    /// <c>Endpoints:*</c>, when present, replace <see cref="SelfNetworkOptions.Urls"/>. Null: Kestrel's defaults.
    /// </summary>
    public IConfiguration? Kestrel { get; init; }

    /// <summary>Whether and from whom <c>X-Forwarded-For</c>/<c>-Proto</c>/<c>-Host</c> are honoured.</summary>
    public ForwardedHeadersSettings ForwardedHeaders { get; init; } = new();

    /// <summary>Checks every setting and throws <see cref="ArgumentException"/> naming the first one to fix.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(ForwardedHeaders, nameof(ForwardedHeaders));
        ForwardedHeaders.Validate();
    }
}

/// <summary>
/// Forwarded headers (configuration section <c>ForwardedHeaders</c>). Off by default: then the client address (which
/// the per-client rate limit counts) is the TCP peer, whatever headers say. On, the headers are believed only from
/// <see cref="KnownProxies"/> and <see cref="KnownNetworks"/> (loopback when both are empty).
/// </summary>
public sealed record ForwardedHeadersSettings
{
    /// <summary>Honour forwarded headers from the known proxies.</summary>
    public bool Enabled { get; init; }

    /// <summary>IP addresses of the reverse proxies, e.g. <c>10.0.0.5</c>.</summary>
    public string[] KnownProxies { get; init; } = [];

    /// <summary>Networks of the reverse proxies in CIDR notation, e.g. <c>10.0.0.0/8</c>.</summary>
    public string[] KnownNetworks { get; init; } = [];

    /// <summary>How many proxies in front of the server are trusted (entries read from the right of <c>X-Forwarded-For</c>).</summary>
    public int ForwardLimit { get; init; } = 1;

    /// <summary>Checks every setting and throws <see cref="ArgumentException"/> naming the first one to fix.</summary>
    public void Validate()
    {
        foreach (var proxy in KnownProxies)
        {
            if (!System.Net.IPAddress.TryParse(proxy, out _))
            {
                throw new ArgumentException($"ForwardedHeaders:KnownProxies: '{proxy}' is not an IP address.", nameof(KnownProxies));
            }
        }

        foreach (var network in KnownNetworks)
        {
            if (!System.Net.IPNetwork.TryParse(network, out _))
            {
                throw new ArgumentException($"ForwardedHeaders:KnownNetworks: '{network}' is not a network in CIDR notation (such as 10.0.0.0/8).", nameof(KnownNetworks));
            }
        }

        if (ForwardLimit < 1)
        {
            throw new ArgumentException("ForwardedHeaders:ForwardLimit must be at least 1.", nameof(ForwardLimit));
        }
    }
}
