using System.Diagnostics;
using System.Diagnostics.Metrics;
using Self.Sdk.Authentication;

namespace Self.Sdk.Diagnostics;

/// <summary>
/// The SDK's instruments and spans, on the <see cref="Meter"/> and <see cref="ActivitySource"/> named
/// <see cref="Name"/> (System.Diagnostics only: export them with OpenTelemetry's <c>AddMeter("Self.Sdk")</c> and
/// <c>AddSource("Self.Sdk")</c> in the app's host).
/// </summary>
public static class SdkTelemetry
{
    /// <summary>The name of the SDK's meter and activity source.</summary>
    public const string Name = "Self.Sdk";

    /// <summary>
    /// One span per authentication request, <c>self.sdk.authentication</c> (kind Client): from the request being opened
    /// to its outcome, a child of the app's current span (its web request, say). Tags: <c>self.conversation.id</c>
    /// and, at the end, <c>self.authentication.outcome</c>.
    /// </summary>
    public static readonly ActivitySource ActivitySource = new(Name, typeof(SdkTelemetry).Assembly.GetName().Version?.ToString());

    private static readonly Meter Meter = new(Name, typeof(SdkTelemetry).Assembly.GetName().Version?.ToString());

    private static readonly Counter<long> Requests = Meter.CreateCounter<long>(
        "self.sdk.authentication.requests", "{request}", "Authentication requests ended, by outcome (accepted, rejected, unauthorized, expired, errored).");

    private static readonly Histogram<double> TimeToAnswer = Meter.CreateHistogram<double>(
        "self.sdk.authentication.duration", "s", "From an authentication request sent to its outcome, by outcome.");

    /// <summary>Starts the span of a request without making it current (it outlives the call that opens it).</summary>
    internal static Activity? StartRequest(string cid)
    {
        var previous = Activity.Current;
        var activity = ActivitySource.StartActivity("self.sdk.authentication", ActivityKind.Client);
        Activity.Current = previous;
        activity?.SetTag("self.conversation.id", cid);
        return activity;
    }

    /// <summary>Counts the outcome, records the time to answer when known, and ends the span.</summary>
    internal static void EndRequest(AuthenticationStatus status, long startTimestamp, Activity? activity)
    {
        var outcome = Outcome(status);
        var tag = new KeyValuePair<string, object?>("outcome", outcome);
        Requests.Add(1, tag);
        if (startTimestamp != 0)
        {
            TimeToAnswer.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tag);
        }

        if (activity is not null)
        {
            activity.SetTag("self.authentication.outcome", outcome);
            if (status is AuthenticationStatus.Errored or AuthenticationStatus.Unauthorized)
            {
                activity.SetStatus(ActivityStatusCode.Error, outcome);
            }

            var current = Activity.Current;
            activity.Stop();
            Activity.Current = current;
        }
    }

    private static string Outcome(AuthenticationStatus status) => status switch
    {
        AuthenticationStatus.Accepted => "accepted",
        AuthenticationStatus.Rejected => "rejected",
        AuthenticationStatus.Unauthorized => "unauthorized",
        AuthenticationStatus.Expired => "expired",
        _ => "errored",
    };
}
