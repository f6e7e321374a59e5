using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Self.Network.Storage;

namespace Self.Network.Hosting;

/// <summary>
/// <c>/healthz</c> (live: the process answers) and <c>/readyz</c> (ready: every check tagged <see cref="ReadyTag"/>
/// passes — the registry and the inbox store each answer a read, so PostgreSQL is reachable and NATS JetStream is
/// connected when they are used). Hosts may add their own checks with the tag.
/// </summary>
public static class NetworkHealth
{
    /// <summary>The tag of the checks <c>/readyz</c> runs.</summary>
    public const string ReadyTag = "ready";

    /// <summary>An id that is never assigned (ids are 11 digits and never start with 0): reading it costs one round trip.</summary>
    internal const string ProbeId = "00000000000";

    internal static void AddChecks(IHealthChecksBuilder checks) => checks
        .AddCheck<RegistryHealthCheck>("registry", HealthStatus.Unhealthy, [ReadyTag], TimeSpan.FromSeconds(5))
        .AddCheck<InboxHealthCheck>("inboxes", HealthStatus.Unhealthy, [ReadyTag], TimeSpan.FromSeconds(5));

    internal static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = static _ => false, ResponseWriter = WriteAsync });
        endpoints.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = static c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync });
    }

    /// <summary><c>{"status":"ok","checks":{"registry":"ok",…}}</c>; never exception text, which may name hosts.</summary>
    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", Text(report.Status));
            json.WriteStartObject("checks");
            foreach (var (name, entry) in report.Entries)
            {
                json.WriteString(name, Text(entry.Status));
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return context.Response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted).AsTask();
    }

    private static string Text(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "ok",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };
}

/// <summary>Ready when the identity store answers a read.</summary>
internal sealed class RegistryHealthCheck(IIdentityStore identities) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await identities.GetAsync(NetworkHealth.ProbeId, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("the identity store did not answer", ex);
        }
    }
}

/// <summary>Ready when the inbox store answers a read.</summary>
internal sealed class InboxHealthCheck(IInboxStore inboxes) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await inboxes.ReadAsync(NetworkHealth.ProbeId + ":1", 0, 1, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("the inbox store did not answer", ex);
        }
    }
}
