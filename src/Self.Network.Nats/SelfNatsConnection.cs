using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Self.Network.Nats;

/// <summary>
/// The one NATS connection of a server instance, shared by its inbox store and its notifier. It reconnects on its
/// own; JetStream calls made while it is away fail, and the relay then answers the sender with ERR.
/// </summary>
internal sealed class SelfNatsConnection : IAsyncDisposable
{
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private volatile bool _connected;

    /// <summary>Prepares a connection with <paramref name="options"/> (validated now); it opens on first use.</summary>
    public SelfNatsConnection(SelfNatsOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        var opts = NatsOpts.Default with
        {
            Url = options.Url,
            Name = options.ConnectionName,
            LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance,
        };
        opts = (options.ConfigureConnection?.Invoke(opts) ?? opts) with { Echo = false };
        Connection = new NatsConnection(opts);
        JetStream = new NatsJSContext(Connection);
    }

    /// <summary>The settings.</summary>
    public SelfNatsOptions Options { get; }

    /// <summary>The underlying connection.</summary>
    public NatsConnection Connection { get; }

    /// <summary>JetStream over <see cref="Connection"/>.</summary>
    public INatsJSContext JetStream { get; }

    /// <summary>Opens the connection (once); fails when no NATS server answers.</summary>
    public async ValueTask ConnectAsync(CancellationToken cancellationToken = default)
    {
        if (_connected)
        {
            return;
        }

        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_connected)
            {
                await Connection.ConnectAsync().AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
                _connected = true;
            }
        }
        finally
        {
            _connectGate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync().ConfigureAwait(false);
        _connectGate.Dispose();
    }
}
