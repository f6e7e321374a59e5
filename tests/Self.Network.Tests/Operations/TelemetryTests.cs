using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Self.Network.Diagnostics;
using Self.Network.Telemetry;
using Self.Network.Tests.Infrastructure;
using Self.Network.Tests.Relay;
using Self.Protocol.Frames;

namespace Self.Network.Tests.Operations;

/// <summary>The meters exported by Self.Network.Telemetry in Prometheus text, the metrics port, and the relay's spans.</summary>
public sealed class TelemetryTests
{
    private const string AdminToken = "operator-token-for-telemetry-tests";

    private static Task<SelfNetworkServer> StartAsync(SelfNetworkTelemetryOptions? telemetry, string urls = "http://127.0.0.1:0") =>
        NetworkFixture.StartAsync(TempDirectory.Create(), TimeProvider.System, configure: o => o with
        {
            Urls = urls,
            AdminToken = AdminToken,
            ConfigureServices = telemetry is null ? null : s => s.AddSelfNetworkTelemetry(telemetry),
        });

    private static async Task<(TestIdentity App, TestIdentity User)> PairAsync(HttpClient http)
    {
        var app = await TestIdentity.CreateAppAsync(http, AdminToken);
        var user = await TestIdentity.RegisterUserAsync(http);
        await user.ConnectAsync(http, app.Id);
        return (app, user);
    }

    [Fact]
    public async Task Metrics_AfterAMessageAndARefusal_ServesTheServerSeriesInPrometheusText()
    {
        await using var server = await StartAsync(new SelfNetworkTelemetryOptions());
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var (app, user) = await PairAsync(http);
        await using (var userSocket = await TestSocket.LoginAsync(server.MessagingUri, user))
        await using (var appSocket = await TestSocket.LoginAsync(server.MessagingUri, app))
        {
            await appSocket.SendAsync(RelayTestData.Message(app, user));
            Assert.Equal(MsgType.Ack, (await appSocket.ReceiveNotificationAsync()).Type);
            await userSocket.ReceiveMessageAsync();
        }

        await http.CallAsync(HttpMethod.Get, "/v1/identities/12345678901");

        var response = await http.CallAsync(HttpMethod.Get, "/metrics");

        // The exporter reads every Self.Network meter of the process (the other tests' servers too), so counts are "at least".
        Assert.Equal(HttpStatusCode.OK, response.Status);
        var text = response.Body;
        Assert.Contains("# TYPE self_network_websocket_connections gauge", text, StringComparison.Ordinal);
        Assert.Matches("self_network_messages_accepted_total\\{[^}]*\\} [1-9]", text);
        Assert.Matches("self_network_messages_delivered_total\\{[^}]*\\} [1-9]", text);
        Assert.Matches("self_network_refusals_total\\{[^}]*code=\"unauthorized\"[^}]*\\} [1-9]", text);
        Assert.Matches("self_network_http_requests_total\\{[^}]*status=\"401\"[^}]*\\} [1-9]", text);
        Assert.Matches("self_network_frames_received_total\\{[^}]*type=\"message\"[^}]*\\} [1-9]", text);
        Assert.Matches("self_network_frames_sent_total\\{[^}]*\\} [1-9]", text);
        Assert.Matches("self_network_ack_duration_seconds_count\\{[^}]*outcome=\"ack\"[^}]*\\} [1-9]", text);
        Assert.Matches("self_network_store_duration_seconds_count\\{[^}]*operation=\"append\"[^}]*\\} [1-9]", text);
        Assert.Matches("self_network_inbox_depth_count\\{[^}]*\\} [1-9]", text);
    }

    [Fact]
    public async Task Metrics_WithoutTelemetry_IsNotServed()
    {
        await using var server = await StartAsync(telemetry: null);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        var response = await http.GetAsync(new Uri("/metrics", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task MetricsPort_ServesMetricsThereOnlyAndNothingElseThere()
    {
        var port = FreePort();
        await using var server = await StartAsync(new SelfNetworkTelemetryOptions { MetricsPort = port }, $"http://127.0.0.1:0;http://127.0.0.1:{port}");
        using var http = new HttpClient();
        var metricsPort = new Uri($"http://127.0.0.1:{port}/");
        Assert.NotEqual(port, server.BaseAddress.Port);

        var metrics = await http.GetAsync(new Uri(metricsPort, "/metrics"));
        var apiOnMetricsPort = await http.GetAsync(new Uri(metricsPort, "/healthz"));
        var metricsOnApiPort = await http.GetAsync(new Uri(server.BaseAddress, "/metrics"));
        var api = await http.GetAsync(new Uri(server.BaseAddress, "/healthz"));

        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("target_info", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, apiOnMetricsPort.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, metricsOnApiPort.StatusCode);
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
    }

    [Fact]
    public void TelemetryOptions_BadSettings_AreRefusedNamingTheSetting()
    {
        Assert.Contains("MetricsPort", Assert.Throws<ArgumentException>(() => new SelfNetworkTelemetryOptions { MetricsPort = 70000 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("MetricsPath", Assert.Throws<ArgumentException>(() => new SelfNetworkTelemetryOptions { MetricsPath = "metrics" }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("OtlpProtocol", Assert.Throws<ArgumentException>(() => new SelfNetworkTelemetryOptions { OtlpProtocol = "udp" }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("OtlpEndpoint", Assert.Throws<ArgumentException>(() => new SelfNetworkTelemetryOptions { OtlpEndpoint = new Uri("ftp://collector") }.Validate()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MessageFrame_IsOneServerSpanFromArrivalToAck_TaggedWithTheFrameId()
    {
        var spans = new System.Collections.Concurrent.ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = static source => source.Name == NetworkMetrics.MeterName,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var server = await StartAsync(telemetry: null);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var (app, user) = await PairAsync(http);
        var stranger = await TestIdentity.RegisterUserAsync(http);
        await using var appSocket = await TestSocket.LoginAsync(server.MessagingUri, app);
        var accepted = RelayTestData.Message(app, user);
        var refused = RelayTestData.Message(app, stranger);

        await appSocket.SendAsync(accepted);
        await appSocket.ReceiveNotificationAsync();
        await appSocket.SendAsync(refused);
        await appSocket.ReceiveNotificationAsync();

        var ok = Assert.Single(spans, s => Equals(s.GetTagItem("self.frame.id"), accepted.Id));
        Assert.Equal("self.network.message", ok.OperationName);
        Assert.Equal(ActivityKind.Server, ok.Kind);
        Assert.Equal(ActivityStatusCode.Unset, ok.Status);
        var error = Assert.Single(spans, s => Equals(s.GetTagItem("self.frame.id"), refused.Id));
        Assert.Equal(ActivityStatusCode.Error, error.Status);
        Assert.Equal("not_connected", error.GetTagItem("self.refusal"));
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
