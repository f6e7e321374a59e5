using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Self.Network.Diagnostics;

namespace Self.Network.Telemetry;

/// <summary>Exports the network's meters and spans with OpenTelemetry: Prometheus at <c>/metrics</c>, OTLP when configured.</summary>
public static class TelemetryServiceCollectionExtensions
{
    /// <summary>The meters and activity sources exported: the server's, and the SDK's and device's when they run in this process.</summary>
    public static readonly IReadOnlyList<string> Sources = [NetworkMetrics.MeterName, "Self.Sdk", "Self.Device", "Self.Messaging"];

    /// <summary>
    /// Registers OpenTelemetry metrics (the <see cref="Sources"/> meters plus ASP.NET Core's and Kestrel's) and, with an
    /// OTLP endpoint, tracing; adds the Prometheus scrape endpoint to the pipeline ahead of the network's routes.
    /// Use it from <see cref="SelfNetworkOptions.ConfigureServices"/> or beside <c>AddSelfNetwork</c>.
    /// </summary>
    public static IServiceCollection AddSelfNetworkTelemetry(this IServiceCollection services, SelfNetworkTelemetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(options.ServiceName, serviceInstanceId: Environment.MachineName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter([.. Sources, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"]);
                if (options.Prometheus)
                {
                    // No scrape cache: every scrape sees the counters as they are (the default caches for 300 ms).
                    metrics.AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0);
                }

                if (options.OtlpEndpoint is { } endpoint)
                {
                    metrics.AddOtlpExporter(otlp => Otlp(otlp, endpoint, options.OtlpProtocol));
                }
            });
        if (options.OtlpEndpoint is { } traces)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource([.. Sources, "Microsoft.AspNetCore"])
                .AddOtlpExporter(otlp => Otlp(otlp, traces, options.OtlpProtocol)));
        }

        if (options.Prometheus)
        {
            services.AddSingleton<IStartupFilter>(new ScrapeEndpoint(options));
        }

        return services;
    }

    private static void Otlp(OtlpExporterOptions otlp, Uri endpoint, string protocol)
    {
        otlp.Endpoint = endpoint;
        otlp.Protocol = protocol == "grpc" ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
    }

    /// <summary>Puts <c>/metrics</c> first in the pipeline; with a metrics port, that port serves nothing else.</summary>
    private sealed class ScrapeEndpoint(SelfNetworkTelemetryOptions options) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            var path = new PathString(options.MetricsPath);
            if (options.MetricsPort is { } port)
            {
                app.Use((context, following) =>
                {
                    if (context.Connection.LocalPort == port && !context.Request.Path.Equals(path, StringComparison.Ordinal))
                    {
                        context.Response.StatusCode = StatusCodes.Status404NotFound;
                        return Task.CompletedTask;
                    }

                    return following(context);
                });
            }

            app.UseOpenTelemetryPrometheusScrapingEndpoint(context =>
                context.Request.Path.Equals(path, StringComparison.Ordinal)
                && (options.MetricsPort is null || context.Connection.LocalPort == options.MetricsPort));
            next(app);
        };
    }
}
