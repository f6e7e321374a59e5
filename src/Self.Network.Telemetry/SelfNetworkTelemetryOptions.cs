namespace Self.Network.Telemetry;

/// <summary>How a network host exports the server's metrics and spans (configuration section <c>Telemetry</c>).</summary>
public sealed record SelfNetworkTelemetryOptions
{
    /// <summary>The OpenTelemetry <c>service.name</c> of this process.</summary>
    public string ServiceName { get; init; } = "self-network";

    /// <summary>Serve the metrics in Prometheus text format at <see cref="MetricsPath"/> (on by default).</summary>
    public bool Prometheus { get; init; } = true;

    /// <summary>The path of the Prometheus scrape endpoint.</summary>
    public string MetricsPath { get; init; } = "/metrics";

    /// <summary>
    /// When set, <see cref="MetricsPath"/> is answered only on connections to this local port, and that port answers
    /// nothing else (404): listen on it too (the <c>self</c> command adds <c>Telemetry:MetricsUrls</c> to its URLs) and keep
    /// it off the public load balancer. When null, <see cref="MetricsPath"/> is served on every port.
    /// </summary>
    public int? MetricsPort { get; init; }

    /// <summary>Send metrics and spans with OTLP to this collector, e.g. <c>http://otel-collector:4317</c>; null: no OTLP.</summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary>The OTLP transport: <c>grpc</c> (port 4317, the default) or <c>http/protobuf</c> (port 4318).</summary>
    public string OtlpProtocol { get; init; } = "grpc";

    /// <summary>Checks every setting and throws <see cref="ArgumentException"/> naming the first one to fix.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ServiceName))
        {
            throw new ArgumentException("Telemetry:ServiceName is empty.", nameof(ServiceName));
        }

        if (string.IsNullOrEmpty(MetricsPath) || MetricsPath[0] != '/')
        {
            throw new ArgumentException($"Telemetry:MetricsPath '{MetricsPath}' must start with '/'.", nameof(MetricsPath));
        }

        if (MetricsPort is < 1 or > 65535)
        {
            throw new ArgumentException($"Telemetry:MetricsPort {MetricsPort} is not a port (1-65535).", nameof(MetricsPort));
        }

        if (OtlpEndpoint is { } endpoint && (!endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps)))
        {
            throw new ArgumentException($"Telemetry:OtlpEndpoint '{endpoint}' must be an absolute http:// or https:// URL.", nameof(OtlpEndpoint));
        }

        if (OtlpProtocol is not ("grpc" or "http/protobuf"))
        {
            throw new ArgumentException($"Telemetry:OtlpProtocol '{OtlpProtocol}' must be 'grpc' or 'http/protobuf'.", nameof(OtlpProtocol));
        }
    }
}
