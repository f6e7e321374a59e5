using Microsoft.Extensions.Diagnostics.HealthChecks;
using Self.Sdk;

namespace Self.AspNetCore;

/// <summary>Reports whether the app's <see cref="SelfClient"/> started and is connected to the network's messaging service.</summary>
public sealed class SelfClientHealthCheck(IServiceProvider services) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        SelfClient client;
        try
        {
            client = (SelfClient?)services.GetService(typeof(SelfClient))
                ?? throw new InvalidOperationException("No SelfClient is registered: call services.AddSelfClient(...).");
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, "The SelfClient cannot be built: " + ex.Message));
        }

        var status = client.Status;
        var data = new Dictionary<string, object> { ["status"] = status.ToString(), ["app_id"] = client.Options.AppId };
        return Task.FromResult(status switch
        {
            SelfClientStatus.Connected => HealthCheckResult.Healthy("Connected to the Self network.", data),
            SelfClientStatus.Reconnecting or SelfClientStatus.Starting => HealthCheckResult.Degraded("Reconnecting to the Self network.", data: data),
            SelfClientStatus.Failed when client.StartFailure is { } failure =>
                new HealthCheckResult(context.Registration.FailureStatus, "The SelfClient did not start: " + failure.Message, data: data),
            _ => new HealthCheckResult(context.Registration.FailureStatus, $"The SelfClient is {status}.", data: data),
        });
    }
}
