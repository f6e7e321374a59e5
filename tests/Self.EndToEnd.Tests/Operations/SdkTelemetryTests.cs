using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Self.Device;
using Self.EndToEnd.Tests.Infrastructure;
using Self.Sdk.Authentication;
using Self.Sdk.Diagnostics;

namespace Self.EndToEnd.Tests.Operations;

/// <summary>The SDK's meter and span and the device's span for one authentication, app → network → device → network → app.</summary>
[Collection(NetworkCollection.Name)]
public sealed class SdkTelemetryTests(NetworkFixture network) : IDisposable
{
    private static readonly ActivitySource AppSource = new("Self.EndToEnd.Tests.App");
    private readonly TempDirectory _storage = new("sdk-telemetry");

    public void Dispose() => _storage.Dispose();

    [Theory]
    [InlineData(true, "accepted")]
    [InlineData(false, "rejected")]
    public async Task Request_Answered_IsOneSpanUnderTheAppsSpanAndCountedByOutcome(bool accept, string outcome)
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = static s => s.Name is SdkTelemetry.Name or Self.Device.Diagnostics.DeviceTelemetry.Name or "Self.EndToEnd.Tests.App",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var measurements = new ConcurrentQueue<(string Instrument, string? Outcome)>();
        using var meters = new MeterListener
        {
            InstrumentPublished = static (instrument, l) =>
            {
                if (instrument.Meter.Name == SdkTelemetry.Name)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        meters.SetMeasurementEventCallback<long>((i, _, tags, _) => measurements.Enqueue((i.Name, OutcomeOf(tags))));
        meters.SetMeasurementEventCallback<double>((i, _, tags, _) => measurements.Enqueue((i.Name, OutcomeOf(tags))));
        meters.Start();
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        await using var device = await TestDevices.RegisterAsync(network, _storage, accept ? ConsentPolicies.AlwaysAccept : ConsentPolicies.AlwaysReject);
        await device.ConnectAsync(app.AppId);

        AuthenticationResponse response;
        ActivityContext login;
        using (var page = AppSource.StartActivity("login page"))
        {
            login = page!.Context;
            response = await client.Authentication.RequestAsync(device.SelfId).WaitAsync(TimeSpan.FromSeconds(60));
        }

        Assert.Equal(accept, response.Accepted);
        var span = Assert.Single(spans, s => s.Source.Name == SdkTelemetry.Name && Equals(s.GetTagItem("self.conversation.id"), response.ConversationId));
        Assert.Equal("self.sdk.authentication", span.OperationName);
        Assert.Equal(login.TraceId, span.TraceId);
        Assert.Equal(login.SpanId, span.ParentSpanId);
        Assert.Equal(outcome, span.GetTagItem("self.authentication.outcome"));
        var answer = Assert.Single(spans, s => s.Source.Name == Self.Device.Diagnostics.DeviceTelemetry.Name && Equals(s.GetTagItem("self.conversation.id"), response.ConversationId));
        Assert.Equal("self.device.answer", answer.OperationName);
        Assert.Equal(outcome, answer.GetTagItem("self.answer"));
        Assert.True(answer.StartTimeUtc >= span.StartTimeUtc);
        Assert.Contains(("self.sdk.authentication.requests", outcome), measurements);
        Assert.Contains(("self.sdk.authentication.duration", outcome), measurements);
    }

    private static string? OutcomeOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "outcome")
            {
                return tag.Value as string;
            }
        }

        return null;
    }
}
