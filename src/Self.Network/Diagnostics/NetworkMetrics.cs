using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Self.Network.Diagnostics;

/// <summary>
/// The server's instruments, on the <see cref="Meter"/> named <see cref="MeterName"/> (System.Diagnostics only: any
/// listener can read them — the <c>self</c> command exports them with OpenTelemetry to <c>/metrics</c> and OTLP).
/// A few totals are also kept here for tests and in-process callers.
/// </summary>
internal sealed class NetworkMetrics
{
    /// <summary>The name of the server's <see cref="Meter"/> and <see cref="ActivitySource"/>.</summary>
    public const string MeterName = "Self.Network";

    /// <summary>The server's spans: one per message frame handled (received → stored → ACK sent) and one per delivery.</summary>
    public static readonly ActivitySource ActivitySource = new(MeterName, typeof(NetworkMetrics).Assembly.GetName().Version?.ToString());

    private readonly ConcurrentDictionary<string, long> _refusals = new(StringComparer.Ordinal);
    private readonly UpDownCounter<long> _connections;
    private readonly Counter<long> _accepted;
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _httpRequests;
    private readonly Counter<long> _framesReceived;
    private readonly Counter<long> _framesSent;
    private readonly Histogram<double> _ackDuration;
    private readonly Histogram<double> _storeDuration;
    private readonly Histogram<long> _inboxDepth;
    private Func<Storage.InboxTotals?>? _inboxTotals;
    private long _openConnections;
    private long _acceptedMessages;
    private long _deliveredMessages;

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/> (one per service provider).</summary>
    public NetworkMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);

        // Names follow the Prometheus series the server has always exported: '.' becomes '_', counters get '_total'.
        _connections = meter.CreateUpDownCounter<long>("self.network.websocket.connections", "{connection}", "Authenticated messaging connections open now.");
        _accepted = meter.CreateCounter<long>("self.network.messages.accepted", "{message}", "Messages stored in a recipient's inbox.");
        _delivered = meter.CreateCounter<long>("self.network.messages.delivered", "{message}", "Messages sent to a recipient's connection (replays included).");
        _refused = meter.CreateCounter<long>("self.network.refusals", "{refusal}", "Requests and frames refused, by error code (rate_limited is a rate-limit refusal).");
        _httpRequests = meter.CreateCounter<long>("self.network.http.requests", "{request}", "REST requests answered, by status code.");
        _framesReceived = meter.CreateCounter<long>("self.network.frames.received", "{frame}", "Websocket frames received from clients, by frame type.");
        _framesSent = meter.CreateCounter<long>("self.network.frames.sent", "{frame}", "Websocket frames sent to clients (notifications and messages).");
        _ackDuration = meter.CreateHistogram<double>("self.network.ack.duration", "s", "From a message frame received to its ACK (or ERR) sent: checks, store commit and queueing.");
        _storeDuration = meter.CreateHistogram<double>("self.network.store.duration", "s", "Inbox store calls made by the relay, by operation (append, read, remove).");
        _inboxDepth = meter.CreateHistogram<long>("self.network.inbox.depth", "{message}", "Messages waiting in an inbox when its device connects (the replay backlog).");

        // What the inboxes hold now (read from the store when scraped), to compare with MaxInboxMessages/MaxInboxBytes.
        meter.CreateObservableGauge("self.network.inboxes", () => Observe(static t => t.Inboxes), "{inbox}", "Inboxes holding undelivered messages.");
        meter.CreateObservableGauge("self.network.inbox.messages", () => Observe(static t => t.Messages), "{message}", "Undelivered messages in every inbox together.");
        meter.CreateObservableGauge("self.network.inbox.bytes", () => Observe(static t => t.Bytes), "By", "Bytes of undelivered frames in every inbox together.");
        meter.CreateObservableGauge("self.network.inbox.largest.messages", () => Observe(static t => t.LargestMessages), "{message}", "Undelivered messages in the fullest inbox.");
        meter.CreateObservableGauge("self.network.inbox.largest.bytes", () => Observe(static t => t.LargestBytes), "By", "Bytes in the largest inbox.");
    }

    /// <summary>Reads the inbox gauges from <paramref name="inboxes"/> (when the store can tell); returns this.</summary>
    internal NetworkMetrics ObservingInboxes(Storage.IInboxStore inboxes)
    {
        _inboxTotals = () => inboxes.TotalsAsync().AsTask().GetAwaiter().GetResult();
        return this;
    }

    private IEnumerable<Measurement<long>> Observe(Func<Storage.InboxTotals, long> value) =>
        _inboxTotals?.Invoke() is { } totals ? [new Measurement<long>(value(totals))] : [];

    /// <summary>Websocket connections that are authenticated and open now.</summary>
    public long OpenConnections => Interlocked.Read(ref _openConnections);

    /// <summary>Messages stored in a recipient's inbox since start.</summary>
    public long AcceptedMessages => Interlocked.Read(ref _acceptedMessages);

    /// <summary>Messages written to a recipient's connection since start (replays included).</summary>
    public long DeliveredMessages => Interlocked.Read(ref _deliveredMessages);

    /// <summary>Refusals with <paramref name="code"/> since start.</summary>
    public long Refusals(string code) => _refusals.TryGetValue(code, out var count) ? count : 0;

    internal void ConnectionOpened()
    {
        Interlocked.Increment(ref _openConnections);
        _connections.Add(1);
    }

    internal void ConnectionClosed()
    {
        Interlocked.Decrement(ref _openConnections);
        _connections.Add(-1);
    }

    internal void MessageAccepted()
    {
        Interlocked.Increment(ref _acceptedMessages);
        _accepted.Add(1);
    }

    internal void MessageDelivered()
    {
        Interlocked.Increment(ref _deliveredMessages);
        _delivered.Add(1);
    }

    internal void Refused(string code)
    {
        _refusals.AddOrUpdate(code, 1, static (_, count) => count + 1);
        _refused.Add(1, new KeyValuePair<string, object?>("code", code));
    }

    internal void HttpRequest(int statusCode) => _httpRequests.Add(1, new KeyValuePair<string, object?>("status", StatusText(statusCode)));

    internal void FrameReceived(string type) => _framesReceived.Add(1, new KeyValuePair<string, object?>("type", type));

    internal void FrameSent() => _framesSent.Add(1);

    /// <summary>Records the time since <paramref name="startTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    internal void Acknowledged(long startTimestamp, bool stored) =>
        _ackDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, new KeyValuePair<string, object?>("outcome", stored ? "ack" : "err"));

    /// <summary>Records one inbox store call that began at <paramref name="startTimestamp"/>.</summary>
    internal void StoreCall(string operation, long startTimestamp) =>
        _storeDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, new KeyValuePair<string, object?>("operation", operation));

    internal void InboxBacklog(long messages) => _inboxDepth.Record(messages);

    private static string StatusText(int statusCode) => statusCode switch
    {
        200 => "200",
        201 => "201",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        409 => "409",
        413 => "413",
        429 => "429",
        500 => "500",
        _ => statusCode.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
