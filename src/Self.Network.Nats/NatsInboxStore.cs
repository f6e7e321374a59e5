using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Self.Network.Storage;

namespace Self.Network.Nats;

/// <summary>
/// <see cref="IInboxStore"/> on a NATS JetStream stream shared by every server instance: one subject per address,
/// the offset of a message is its stream sequence (strictly increasing per inbox, with gaps, never reused), and an
/// append returns only after JetStream has acknowledged the message as stored.
/// </summary>
internal sealed class NatsInboxStore : IInboxStore, IStorageInitializer, IDescribedStore
{
    /// <summary>The header that carries the server's acceptance time (unix nanoseconds) of each message.</summary>
    public const string TimestampHeader = "Self-Timestamp";

    // Room for the headers (timestamp, message id) that travel with a frame in the same NATS payload.
    private const int HeaderAllowance = 1024;
    private const int ScanBatch = 512;
    private const int MaxTrackedSizes = 10_000;

    // What JetStream puts in place of the payload of a headers-only delivery: the payload's size.
    private const string MessageSizeHeader = "Nats-Msg-Size";

    private static readonly TimeSpan PublishRetryDelay = TimeSpan.FromMilliseconds(250);

    private readonly SelfNatsConnection _nats;
    private readonly SelfNatsOptions _options;
    private readonly TimeSpan _maxAge;
    private readonly int _maxFrameBytes;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _initGate = new(1, 1);
    private readonly Dictionary<string, SizeMark> _sizes = new(StringComparer.Ordinal);
    private INatsJSStream? _stream;

    /// <summary>Keeps inboxes in the stream named by the connection's options.</summary>
    /// <param name="nats">The instance's NATS connection.</param>
    /// <param name="network">The server's options, for the retention period and the largest frame; defaults when null.</param>
    /// <param name="logger">Where to log.</param>
    public NatsInboxStore(SelfNatsConnection nats, SelfNetworkOptions? network = null, ILogger<NatsInboxStore>? logger = null)
    {
        _nats = nats ?? throw new ArgumentNullException(nameof(nats));
        _options = nats.Options;
        network ??= new SelfNetworkOptions();
        _maxAge = _options.MaxAge ?? network.InboxRetention;
        _maxFrameBytes = network.MaxFrameBytes;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <inheritdoc />
    public string Description => $"NATS JetStream {_options.DisplayUrl}, stream {_options.StreamName}";

    /// <summary>
    /// Connects, checks that the NATS server takes frames as large as the relay accepts, and creates or updates the
    /// stream (idempotent; every instance does it at start).
    /// </summary>
    public async ValueTask InitializeAsync(CancellationToken cancellationToken = default) => await GetStreamAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<long> AppendAsync(string address, long timestamp, ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default)
    {
        var subject = InboxSubjects.For(_options.InboxSubjectPrefix, address);
        await GetStreamAsync(cancellationToken).ConfigureAwait(false);
        var headers = new NatsHeaders { [TimestampHeader] = timestamp.ToString(CultureInfo.InvariantCulture) };

        // The message id lets JetStream drop a copy that a retry (after a lost ACK) publishes again: one while the
        // stream has no leader, or the client's own after an ERR.
        var opts = new NatsJSPubOpts { MsgId = Guid.NewGuid().ToString("N"), ExpectedStream = _options.StreamName };
        return await WhileLeaderlessAsync(
            "append",
            async () =>
            {
                var ack = await _nats.JetStream.PublishAsync(subject, frame, headers: headers, opts: opts, cancellationToken: cancellationToken).ConfigureAwait(false);
                ack.EnsureSuccess();
                return checked((long)ack.Seq);
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs a call to the stream's leader, again after a short wait while nobody answers it: a JetStream server of the
    /// stream died and the others are electing a new leader (seconds), and meanwhile nothing can be stored or read.
    /// Every call it wraps may run twice — appends carry a message id, reads and purges change nothing twice — and it
    /// gives up after <see cref="SelfNatsOptions.PublishRetryTimeout"/>, when the caller's error takes over.
    /// </summary>
    private async Task<T> WhileLeaderlessAsync<T>(string operation, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (Exception ex) when (IsLeaderless(ex) && System.Diagnostics.Stopwatch.GetElapsedTime(started) + PublishRetryDelay < _options.PublishRetryTimeout)
            {
                Log.StreamCallRetried(_logger, _options.StreamName, operation, attempt, ex.GetType().Name);
                await Task.Delay(PublishRetryDelay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// True for the failures of a call that nobody answered — no stream leader (no responders), or no reply in time —
    /// after which it may be made again safely: a publish (its message id makes it once), and the reads, counts and
    /// purges, which JetStream's API answers with <see cref="NatsJSApiNoResponseException"/> while it elects a leader.
    /// </summary>
    internal static bool IsLeaderless(Exception exception) => exception switch
    {
        NatsJSPublishNoResponseException or NatsJSApiNoResponseException or NatsNoRespondersException or NatsNoReplyException or TimeoutException => true,
        NatsJSApiException api => api.Error.Code == 503,
        _ => false,
    };

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<InboxMessage>> ReadAsync(string address, long afterOffset, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);
        var subject = InboxSubjects.For(_options.InboxSubjectPrefix, address);
        var stream = await GetStreamAsync(cancellationToken).ConfigureAwait(false);
        var messages = new List<InboxMessage>();
        var next = (ulong)Math.Max(0, afterOffset) + 1;

        // Each get asks the stream leader for the first message of this inbox at or after a sequence, so a read that
        // follows a notification always sees the message announced (a replica might not have it yet).
        while (messages.Count < maxCount)
        {
            StoredMessage stored;
            try
            {
                var request = new StreamMsgGetRequest { Seq = next, NextBySubj = subject };
                var response = await WhileLeaderlessAsync("read", () => stream.GetAsync(request, cancellationToken).AsTask(), cancellationToken).ConfigureAwait(false);
                stored = response.Message;
            }
            catch (NatsJSApiException ex) when (ex.Error.Code == 404)
            {
                break;
            }

            messages.Add(new InboxMessage(checked((long)stored.Seq), TimestampOf(stored), stored.Data));
            next = stored.Seq + 1;
        }

        return messages;
    }

    /// <summary>
    /// What one inbox holds, for the inbox caps (<see cref="SelfNetworkOptions.MaxInboxMessages"/>,
    /// <see cref="SelfNetworkOptions.MaxInboxBytes"/>). JetStream counts the messages of a subject but not their bytes, so
    /// this instance remembers, per inbox, the count, the bytes and the last sequence it has seen, and reads only the
    /// messages stored after that (by any instance). When JetStream's own count of the subject then differs — messages
    /// were removed meanwhile: its device read them through any instance, or retention dropped them — it counts the
    /// inbox afresh (headers only, in batches), as it does the first time.
    /// </summary>
    public async ValueTask<InboxSize?> SizeAsync(string address, CancellationToken cancellationToken = default)
    {
        try
        {
            return await CountAsync(address, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsException ex)
        {
            // Unknown now (the stream refused the reads, or stayed without a leader): the append that follows meets the
            // same stream and fails with its own error if it is still broken.
            Log.SizeUnknown(_logger, address, ex);
            return null;
        }
    }

    private async Task<InboxSize> CountAsync(string address, CancellationToken cancellationToken)
    {
        var subject = InboxSubjects.For(_options.InboxSubjectPrefix, address);
        var stream = await GetStreamAsync(cancellationToken).ConfigureAwait(false);
        SizeMark? known;
        lock (_sizes)
        {
            _sizes.TryGetValue(address, out known);
        }

        var (messages, bytes) = (0L, 0L);
        for (var pass = 0; pass < 2; pass++)
        {
            (messages, bytes) = (known?.Messages ?? 0, known?.Bytes ?? 0);
            var last = known?.LastSequence ?? 0;
            if (known is null)
            {
                // The whole inbox: message sizes from headers, a batch per round trip.
                (messages, bytes, last) = await CountAllAsync(stream, subject, cancellationToken).ConfigureAwait(false);
            }

            while (known is not null)
            {
                StoredMessage stored;
                try
                {
                    var request = new StreamMsgGetRequest { Seq = last + 1, NextBySubj = subject };
                    stored = (await WhileLeaderlessAsync("size", () => stream.GetAsync(request, cancellationToken).AsTask(), cancellationToken).ConfigureAwait(false)).Message;
                }
                catch (NatsJSApiException ex) when (ex.Error.Code == 404)
                {
                    break;
                }

                messages++;
                bytes += stored.Data.Length;
                last = stored.Seq;
            }

            var info = await WhileLeaderlessAsync(
                "size",
                () => _nats.JetStream.GetStreamAsync(_options.StreamName, new StreamInfoRequest { SubjectsFilter = subject }, cancellationToken).AsTask(),
                cancellationToken).ConfigureAwait(false);
            var counted = info.Info.State.Subjects is { } subjects && subjects.TryGetValue(subject, out var count) ? (long)count : 0;
            if (counted == messages)
            {
                lock (_sizes)
                {
                    if (_sizes.Count >= MaxTrackedSizes)
                    {
                        _sizes.Clear();
                    }

                    _sizes[address] = new SizeMark(messages, bytes, last);
                }

                return new InboxSize(messages, bytes);
            }

            // Removed (or added) meanwhile: count from the start.
            known = null;
        }

        // Still changing under the count: what the last full pass saw (the cap is checked again on the next append).
        return new InboxSize(messages, bytes);
    }

    /// <summary>Every message of one subject, read as headers only: how many, their payload bytes, the last sequence.</summary>
    private async Task<(long Messages, long Bytes, ulong Last)> CountAllAsync(INatsJSStream stream, string subject, CancellationToken cancellationToken)
    {
        // A pull consumer of this subject alone (FilterSubject: nats-server 2.9 ignores an ordered consumer's
        // FilterSubjects), in memory, deleted after use and dropped by the server if this instance dies first.
        var config = new ConsumerConfig("size-" + Guid.NewGuid().ToString("N"))
        {
            FilterSubject = subject,
            HeadersOnly = true,
            AckPolicy = ConsumerConfigAckPolicy.None,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            MemStorage = true,
            NumReplicas = 1,
            InactiveThreshold = TimeSpan.FromSeconds(30),
        };
        var consumer = await WhileLeaderlessAsync("size", () => stream.CreateOrUpdateConsumerAsync(config, cancellationToken).AsTask(), cancellationToken).ConfigureAwait(false);
        long messages = 0, bytes = 0;
        ulong last = 0, pending = 1;
        while (pending > 0)
        {
            var received = 0;
            await foreach (var message in consumer.FetchNoWaitAsync<ReadOnlyMemory<byte>>(new NatsJSFetchOpts { MaxMsgs = ScanBatch }, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                received++;
                messages++;
                bytes += message.Headers is { } headers && headers.TryGetLastValue(MessageSizeHeader, out var size)
                    && long.TryParse(size, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed)
                    ? parsed
                    : message.Data.Length;
                last = message.Metadata?.Sequence.Stream ?? last;
                pending = message.Metadata?.NumPending ?? 0;
            }

            if (received == 0)
            {
                break;
            }
        }

        try
        {
            await stream.DeleteConsumerAsync(config.Name!, CancellationToken.None).ConfigureAwait(false);
        }
        catch (NatsException)
        {
            // Its inactivity threshold removes it.
        }

        return (messages, bytes, last);
    }

    /// <inheritdoc />
    public async ValueTask<long> RemoveThroughAsync(string address, long offset, CancellationToken cancellationToken = default)
    {
        var subject = InboxSubjects.For(_options.InboxSubjectPrefix, address);
        if (offset < 1)
        {
            return 0;
        }

        lock (_sizes)
        {
            _sizes.Remove(address);
        }

        var stream = await GetStreamAsync(cancellationToken).ConfigureAwait(false);

        // Purge with a filter and a sequence drops this subject's messages below the sequence, and nothing else.
        var request = new StreamPurgeRequest { Filter = subject, Seq = (ulong)offset + 1 };
        var purged = await WhileLeaderlessAsync("remove", () => stream.PurgeAsync(request, cancellationToken).AsTask(), cancellationToken).ConfigureAwait(false);
        return purged.Purged;
    }

    /// <summary>
    /// Drops every message stamped before <paramref name="timestamp"/>. Walks the stream oldest first reading headers
    /// only, and stops at the first message stamped <see cref="SelfNatsOptions.ClockSkewTolerance"/> after the cut-off:
    /// instances stamp with their own clocks, so later messages can be a little older, but not by more than that.
    /// An expired run at the start of the stream is purged at once; expired messages after it are deleted one by one.
    /// (The stream's MaxAge drops old messages on its own too; this sweep applies the server's clock and retention.)
    /// </summary>
    public async ValueTask<long> PruneAsync(long timestamp, CancellationToken cancellationToken = default)
    {
        lock (_sizes)
        {
            _sizes.Clear();
        }

        var stream = await GetStreamAsync(cancellationToken).ConfigureAwait(false);
        var info = await _nats.JetStream.GetStreamAsync(_options.StreamName, cancellationToken: cancellationToken).ConfigureAwait(false);
        var lastSequence = info.Info.State.LastSeq;
        if (info.Info.State.Messages == 0)
        {
            return 0;
        }

        var stopAt = SaturatingAdd(timestamp, _options.ClockSkewTolerance.Ticks * 100);
        ulong expiredPrefixEnd = 0;
        var prefixRunning = true;
        var expired = new List<ulong>();
        var consumer = await stream.CreateOrderedConsumerAsync(
            new NatsJSOrderedConsumerOpts
            {
                HeadersOnly = true,
                DeliverPolicy = ConsumerConfigDeliverPolicy.All,
                InactiveThreshold = TimeSpan.FromSeconds(30),
            },
            cancellationToken).ConfigureAwait(false);

        var done = false;
        while (!done)
        {
            var received = 0;
            await foreach (var message in consumer.FetchNoWaitAsync<ReadOnlyMemory<byte>>(new NatsJSFetchOpts { MaxMsgs = ScanBatch }, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                received++;
                var sequence = message.Metadata?.Sequence.Stream ?? 0;
                if (done || sequence == 0 || sequence > lastSequence)
                {
                    done = true;
                    continue;
                }

                var stamped = ParseTimestamp(message.Headers) ?? NanosecondsOf(message.Metadata!.Value.Timestamp);
                if (stamped < timestamp)
                {
                    if (prefixRunning)
                    {
                        expiredPrefixEnd = sequence;
                    }
                    else
                    {
                        expired.Add(sequence);
                    }
                }
                else
                {
                    prefixRunning = false;
                    done |= stamped >= stopAt;
                }

                done |= sequence == lastSequence;
            }

            done |= received == 0;
        }

        long dropped = 0;
        if (expiredPrefixEnd > 0)
        {
            // Every message below this sequence was seen above and is expired (later appends get higher sequences).
            var purged = await stream.PurgeAsync(new StreamPurgeRequest { Seq = expiredPrefixEnd + 1 }, cancellationToken).ConfigureAwait(false);
            dropped += purged.Purged;
        }

        foreach (var sequence in expired)
        {
            try
            {
                await stream.DeleteMessageAsync(new StreamMsgDeleteRequest { Seq = sequence, NoErase = true }, cancellationToken).ConfigureAwait(false);
                dropped++;
            }
            catch (NatsJSApiException ex) when (ex.Error.Code is 400 or 404 && ex.Error.ErrCode is 10043 or 10037)
            {
                // Already gone: its recipient removed it after processing it.
            }
        }

        return dropped;
    }

    /// <summary>
    /// Creates the stream or updates its settings. Instances starting together race: one's update finds no stream,
    /// another creates it, and the first one's create is then refused (the name, or its subjects, are taken). Asking
    /// again finds the stream and updates it.
    /// </summary>
    private async ValueTask<INatsJSStream> CreateOrUpdateStreamAsync(StreamConfig config, CancellationToken cancellationToken)
    {
        const int StreamNameInUse = 10058;
        const int SubjectsOverlap = 10065;
        const int Attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await _nats.JetStream.CreateOrUpdateStreamAsync(config, cancellationToken).ConfigureAwait(false);
            }
            catch (NatsJSApiException ex) when (attempt < Attempts && ex.Error.ErrCode is StreamNameInUse or SubjectsOverlap)
            {
                // Lost the race to another instance: its stream is there now.
            }
        }
    }

    private async ValueTask<INatsJSStream> GetStreamAsync(CancellationToken cancellationToken)
    {
        if (_stream is { } ready)
        {
            return ready;
        }

        await _initGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_stream is null)
            {
                await _nats.ConnectAsync(cancellationToken).ConfigureAwait(false);
                var maxPayload = _nats.Connection.ServerInfo?.MaxPayload ?? 0;
                if (maxPayload < _maxFrameBytes + HeaderAllowance)
                {
                    throw new InvalidOperationException(
                        $"The NATS server takes payloads of at most {maxPayload} bytes, but the relay accepts frames of up to {_maxFrameBytes} bytes. " +
                        $"Set max_payload to at least {_maxFrameBytes + HeaderAllowance} in the nats-server configuration (e.g. max_payload: 2MB).");
                }

                var subjects = _options.InboxSubjectPrefix + ".>";
                var config = new StreamConfig(_options.StreamName, [subjects])
                {
                    Description = "Self network inboxes: one subject per selfid:device, sequence = offset",
                    Storage = StreamConfigStorage.File,
                    Retention = StreamConfigRetention.Limits,
                    Discard = StreamConfigDiscard.Old,
                    MaxAge = _maxAge,
                    NumReplicas = _options.Replicas,
                    DuplicateWindow = _maxAge < TimeSpan.FromMinutes(2) ? _maxAge : TimeSpan.FromMinutes(2),
                };
                _stream = await CreateOrUpdateStreamAsync(config, cancellationToken).ConfigureAwait(false);
                Log.StreamReady(_logger, _options.StreamName, subjects, _options.Replicas, _maxAge);
            }

            return _stream;
        }
        finally
        {
            _initGate.Release();
        }
    }

    private long TimestampOf(StoredMessage stored)
    {
        long? parsed = null;
        if (!string.IsNullOrEmpty(stored.Hdrs))
        {
            parsed = ParseTimestamp(Encoding.ASCII.GetString(Convert.FromBase64String(stored.Hdrs)));
        }

        if (parsed is { } value)
        {
            return value;
        }

        Log.MissingTimestamp(_logger, stored.Seq, stored.Subject);
        return NanosecondsOf(stored.Time);
    }

    private static long? ParseTimestamp(NatsHeaders? headers) =>
        headers is not null && headers.TryGetLastValue(TimestampHeader, out var value)
            && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : null;

    /// <summary>Reads the timestamp from raw NATS headers (<c>NATS/1.0</c>, then <c>Name: value</c> lines).</summary>
    internal static long? ParseTimestamp(string rawHeaders)
    {
        foreach (var line in rawHeaders.Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0
                && line.AsSpan(0, colon).Trim().Equals(TimestampHeader, StringComparison.OrdinalIgnoreCase)
                && long.TryParse(line.AsSpan(colon + 1).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }

        return null;
    }

    private static long NanosecondsOf(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    private static long SaturatingAdd(long a, long b) => b > 0 && a > long.MaxValue - b ? long.MaxValue : a + b;

    /// <summary>What this instance last counted in one inbox, up to and including <see cref="LastSequence"/>.</summary>
    private sealed record SizeMark(long Messages, long Bytes, ulong LastSequence);
}
