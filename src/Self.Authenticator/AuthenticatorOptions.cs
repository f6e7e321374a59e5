using Microsoft.Extensions.Logging;

namespace Self.Authenticator;

/// <summary>
/// How the web authenticator runs: which network its device talks to, where it keeps the device, and where it listens.
/// <see cref="Validate"/> runs at start and says what to fix.
/// </summary>
public sealed record AuthenticatorOptions
{
    /// <summary>The network a new identity registers on (an existing one keeps the network it was created on).</summary>
    public required Uri ServerUrl { get; init; }

    /// <summary>The folder for the passphrase-locked device, its settings and its encrypted history.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The TCP port to listen on; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>Listen on every address instead of 127.0.0.1 only (another machine could then reach the login page).</summary>
    public bool ListenAny { get; init; }

    /// <summary>Argon2id work factor for a new vault (iterations); later unlocks use what the vault was made with.</summary>
    public int KdfIterations { get; init; } = 3;

    /// <summary>Argon2id memory for a new vault, in bytes (default 64 MiB).</summary>
    public int KdfMemoryBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>The clock for countdowns, history and the device.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Where logs go; none by default.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Checks every option and throws <see cref="ArgumentException"/> naming the first one to fix.</summary>
    public void Validate()
    {
        if (ServerUrl is null || !ServerUrl.IsAbsoluteUri || ServerUrl.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"ServerUrl '{ServerUrl}' must be an absolute http:// or https:// URL.", nameof(ServerUrl));
        }

        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new ArgumentException("DataDirectory is empty: give a folder where the authenticator may keep the device.", nameof(DataDirectory));
        }

        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException($"Port {Port} is not a TCP port (0-65535; 0 picks a free one).", nameof(Port));
        }

        if (KdfIterations < 1)
        {
            throw new ArgumentException("KdfIterations must be at least 1.", nameof(KdfIterations));
        }

        if (KdfMemoryBytes < 8192)
        {
            throw new ArgumentException("KdfMemoryBytes must be at least 8192 (Argon2id's minimum).", nameof(KdfMemoryBytes));
        }
    }
}
