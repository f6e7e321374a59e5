using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Self.Device;

namespace Self.Authenticator;

/// <summary>
/// The requests the page shows: open ones, and those answered or expired a moment ago (so that the page can say what
/// happened to them). Every change goes to each open event stream as a server-sent event.
/// </summary>
internal sealed class RequestBoard(TimeProvider time)
{
    private static readonly TimeSpan KeepFinished = TimeSpan.FromMinutes(10);
    private readonly ConcurrentDictionary<string, BoardItem> _items = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Channel<string>, byte> _streams = new();

    /// <summary>Whether an Accept needs the passphrase (the person's user-verification setting), shown on each card.</summary>
    public bool RequirePassphrase { get; set; }

    public IReadOnlyList<BoardItem> Items
    {
        get
        {
            var now = time.GetUtcNow();
            foreach (var (id, item) in _items)
            {
                if (item.FinishedAt is { } at && now - at > KeepFinished)
                {
                    _items.TryRemove(id, out _);
                }
            }

            return [.. _items.Values.OrderBy(i => i.Request.ExpiresAt)];
        }
    }

    public BoardItem? Find(string id) => _items.GetValueOrDefault(id);

    public void Add(IncomingRequest request)
    {
        var item = new BoardItem(request);
        if (_items.TryAdd(request.RequestId, item))
        {
            Publish(item);
            var left = request.ExpiresAt - time.GetUtcNow();
            if (left > TimeSpan.Zero)
            {
                // Says "expired" on every open page the moment it happens, without a reload.
                item.ExpiryTimer = time.CreateTimer(_ => Refresh(item), null, left + TimeSpan.FromMilliseconds(50), Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Publishes the item's state again (after an answer, or when it expired).</summary>
    public void Refresh(BoardItem item)
    {
        if (item.State(time.GetUtcNow()) != "open")
        {
            item.FinishedAt ??= time.GetUtcNow();
        }

        Publish(item);
    }

    public ChannelReader<string> Subscribe(out Action unsubscribe)
    {
        var channel = Channel.CreateBounded<string>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest });
        _streams[channel] = 0;
        foreach (var item in Items)
        {
            channel.Writer.TryWrite(Event(item));
        }

        unsubscribe = () =>
        {
            _streams.TryRemove(channel, out _);
            channel.Writer.TryComplete();
        };
        return channel.Reader;
    }

    public string ToJson(BoardItem item) => JsonSerializer.Serialize(View(item), BoardJson.Default.RequestView);

    private void Publish(BoardItem item)
    {
        var message = Event(item);
        foreach (var stream in _streams.Keys)
        {
            stream.Writer.TryWrite(message);
        }
    }

    private string Event(BoardItem item) => "event: request\ndata: " + ToJson(item) + "\n\n";

    private RequestView View(BoardItem item)
    {
        var r = item.Request;
        var now = time.GetUtcNow();
        return new RequestView(
            r.RequestId, r.AppId, r.AppName, r.Description, r.BindingMessage, r.ExpiresAt.ToUnixTimeMilliseconds(),
            now.ToUnixTimeMilliseconds(), item.State(now), NumberMatching.IsRequired(r), RequirePassphrase, r.Origin.ToString(), item.Error);
    }
}

/// <summary>A request on the board.</summary>
internal sealed class BoardItem(IncomingRequest request)
{
    public IncomingRequest Request { get; } = request;

    public DateTimeOffset? FinishedAt { get; set; }

    public string? Error { get; set; }

    public ITimer? ExpiryTimer { get; set; }

    public string State(DateTimeOffset now) => Request.Answer switch
    {
        RequestAnswer.Accepted => "accepted",
        RequestAnswer.Rejected => "rejected",
        RequestAnswer.Unauthorized => "unauthorized",
        _ => now >= Request.ExpiresAt ? "expired" : "open",
    };
}

internal sealed record RequestView(
    string Id, string AppId, string? AppName, string? Description, string? BindingMessage, long ExpiresAt, long ServerNow,
    string State, bool RequiresNumber, bool RequiresPassphrase, string Origin, string? Error);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(RequestView))]
[JsonSerializable(typeof(AnswerResult))]
internal sealed partial class BoardJson : JsonSerializerContext;

internal sealed record AnswerResult(bool Ok, string Message, string State);
