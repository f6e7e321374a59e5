using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Self.Network.Diagnostics;

/// <summary>The server's counters, rendered as Prometheus text at <c>/metrics</c>.</summary>
internal sealed class NetworkMetrics
{
    private readonly ConcurrentDictionary<string, long> _refusals = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, long> _httpRequests = new();
    private long _openConnections;
    private long _acceptedMessages;
    private long _deliveredMessages;

    /// <summary>Websocket connections that are authenticated and open now.</summary>
    public long OpenConnections => Interlocked.Read(ref _openConnections);

    /// <summary>Messages stored in a recipient's inbox since start.</summary>
    public long AcceptedMessages => Interlocked.Read(ref _acceptedMessages);

    /// <summary>Messages written to a recipient's connection since start (replays included).</summary>
    public long DeliveredMessages => Interlocked.Read(ref _deliveredMessages);

    /// <summary>Refusals with <paramref name="code"/> since start.</summary>
    public long Refusals(string code) => _refusals.TryGetValue(code, out var count) ? count : 0;

    internal void ConnectionOpened() => Interlocked.Increment(ref _openConnections);

    internal void ConnectionClosed() => Interlocked.Decrement(ref _openConnections);

    internal void MessageAccepted() => Interlocked.Increment(ref _acceptedMessages);

    internal void MessageDelivered() => Interlocked.Increment(ref _deliveredMessages);

    internal void Refused(string code) => _refusals.AddOrUpdate(code, 1, static (_, count) => count + 1);

    internal void HttpRequest(int statusCode) => _httpRequests.AddOrUpdate(statusCode, 1, static (_, count) => count + 1);

    /// <summary>The Prometheus text exposition of every counter.</summary>
    public string Render()
    {
        var text = new StringBuilder(1024);
        Metric(text, "self_network_websocket_connections", "gauge", "Authenticated messaging connections open now.");
        Line(text, "self_network_websocket_connections", null, OpenConnections);
        Metric(text, "self_network_messages_accepted_total", "counter", "Messages stored in a recipient's inbox.");
        Line(text, "self_network_messages_accepted_total", null, AcceptedMessages);
        Metric(text, "self_network_messages_delivered_total", "counter", "Messages sent to a recipient's connection.");
        Line(text, "self_network_messages_delivered_total", null, DeliveredMessages);
        Metric(text, "self_network_refusals_total", "counter", "Requests and frames refused, by error code.");
        foreach (var (code, count) in _refusals.OrderBy(static p => p.Key, StringComparer.Ordinal))
        {
            Line(text, "self_network_refusals_total", $"code=\"{code}\"", count);
        }

        Metric(text, "self_network_http_requests_total", "counter", "REST requests answered, by status code.");
        foreach (var (status, count) in _httpRequests.OrderBy(static p => p.Key))
        {
            Line(text, "self_network_http_requests_total", $"status=\"{status.ToString(CultureInfo.InvariantCulture)}\"", count);
        }

        return text.ToString();
    }

    private static void Metric(StringBuilder text, string name, string type, string help) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Line(StringBuilder text, string name, string? labels, long value)
    {
        text.Append(name);
        if (labels is not null)
        {
            text.Append('{').Append(labels).Append('}');
        }

        text.Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }
}
