using Microsoft.Extensions.Diagnostics.HealthChecks;
using Self.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the <see cref="SelfClientHealthCheck"/> to the app's health checks.</summary>
public static class SelfHealthCheckBuilderExtensions
{
    /// <summary>Reports the app's <see cref="Self.Sdk.SelfClient"/>: healthy when connected, degraded while reconnecting, unhealthy when it did not start.</summary>
    public static IHealthChecksBuilder AddSelfClientHealthCheck(
        this IHealthChecksBuilder builder, string name = "self", HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(name, services => new SelfClientHealthCheck(services), failureStatus, tags));
    }
}
