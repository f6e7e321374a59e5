using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;

namespace Self.Network.Hosting;

/// <summary>
/// Kestrel answers a request it cannot parse (a 60 KB header: 431, <c>%00</c> in the path or a garbled request line:
/// 400…) itself, before any middleware runs, with an empty body — and offers no hook to change that. This connection
/// middleware watches what Kestrel writes on an HTTP/1.x connection: a response that starts a write, has a 4xx status,
/// <c>Content-Length: 0</c> and <c>Connection: close</c> is such a rejection (every answer of the API itself has a JSON
/// body and keeps the connection), and is rewritten to carry the API's error shape <c>{"message","code"}</c>. Once a
/// connection has switched to websocket (101) nothing more is looked at.
/// </summary>
internal static class JsonRejections
{
    /// <summary>Wraps each connection's output so that Kestrel's own rejections get a JSON body.</summary>
    public static IConnectionBuilder UseJsonRejections(this IConnectionBuilder builder) =>
        builder.Use(static next => context =>
        {
            context.Transport = new RewritingPipe(context.Transport);
            return next(context);
        });

    /// <summary>
    /// The rewritten bytes for <paramref name="response"/> when it is a bodyless rejection, else null.
    /// </summary>
    internal static byte[]? Rewrite(ReadOnlySpan<byte> response)
    {
        // "HTTP/1.1 431 …": a 4xx status at the start of a write, the whole head in this write, no body.
        if (response.Length < 16 || !response.StartsWith("HTTP/1."u8) || response[8] != (byte)' ' || response[9] != (byte)'4')
        {
            return null;
        }

        var headEnd = response.IndexOf("\r\n\r\n"u8);
        if (headEnd < 0 || headEnd + 4 != response.Length)
        {
            return null;
        }

        var head = Encoding.Latin1.GetString(response[..(headEnd + 2)]);
        const string EmptyLength = "\r\nContent-Length: 0\r\n";
        if (!head.Contains(EmptyLength, StringComparison.OrdinalIgnoreCase)
            || !head.Contains("\r\nConnection: close\r\n", StringComparison.OrdinalIgnoreCase)
            || !int.TryParse(head.AsSpan(9, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            return null;
        }

        var (code, message) = status switch
        {
            431 => ("headers_too_large", "The request's headers are too large."),
            414 => ("uri_too_long", "The request's URL is too long."),
            413 => ("too_large", "The request's body is too large."),
            408 => ("request_timeout", "The request did not arrive in time."),
            411 => ("length_required", "The request needs a Content-Length."),
            405 => ("method_not_allowed", "The method is not allowed here."),
            _ => ("bad_request", "The request is not well-formed HTTP (bad request line, header or URL encoding)."),
        };
        var body = "{\"message\":\"" + message + "\",\"code\":\"" + code + "\"}";
        var index = head.IndexOf(EmptyLength, StringComparison.OrdinalIgnoreCase);
        var rewritten = new StringBuilder(head.Length + body.Length + 64)
            .Append(head, 0, index)
            .Append("\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ")
            .Append(Encoding.UTF8.GetByteCount(body).ToString(CultureInfo.InvariantCulture))
            .Append("\r\n")
            .Append(head, index + EmptyLength.Length, head.Length - index - EmptyLength.Length)
            .Append("\r\n")
            .Append(body)
            .ToString();
        return Encoding.UTF8.GetBytes(rewritten);
    }

    private sealed class RewritingPipe(IDuplexPipe inner) : IDuplexPipe
    {
        public PipeReader Input { get; } = inner.Input;

        public PipeWriter Output { get; } = new RewritingWriter(inner.Output);
    }

    /// <summary>Hands out the inner writer's memory and looks at each write's first bytes as it is committed.</summary>
    private sealed class RewritingWriter(PipeWriter inner) : PipeWriter
    {
        private Memory<byte> _lastMemory;
        private bool _upgraded;

        public override void Advance(int bytes)
        {
            if (!_upgraded && bytes >= 16)
            {
                var written = _lastMemory.Span[..bytes];
                if (written.StartsWith("HTTP/1.1 101"u8))
                {
                    _upgraded = true;
                }
                else if (Rewrite(written) is { } rewritten)
                {
                    // Nothing of the original is committed; the rewritten response goes out in its place.
                    inner.Advance(0);
                    inner.Write(rewritten);
                    return;
                }
            }

            inner.Advance(bytes);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => _lastMemory = inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => (_lastMemory = inner.GetMemory(sizeHint)).Span;

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            if (!_upgraded && source.Length >= 16)
            {
                if (source.Span.StartsWith("HTTP/1.1 101"u8))
                {
                    _upgraded = true;
                }
                else if (Rewrite(source.Span) is { } rewritten)
                {
                    return inner.WriteAsync(rewritten, cancellationToken);
                }
            }

            return inner.WriteAsync(source, cancellationToken);
        }
    }
}
