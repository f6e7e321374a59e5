using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Self.Authenticator;

/// <summary>One answered request, as the person's own audit log keeps it.</summary>
/// <param name="AnsweredAt">When the answer was sent.</param>
/// <param name="AppId">The app that asked.</param>
/// <param name="AppName">Its name, when known.</param>
/// <param name="Description">What it asked.</param>
/// <param name="BindingMessage">The binding message it showed.</param>
/// <param name="Answer">accepted, rejected or unauthorized.</param>
/// <param name="Origin">message, qr or deep link.</param>
/// <param name="ByPolicy">True when the device answered by itself (an app not connected).</param>
internal sealed record HistoryEntry(
    DateTimeOffset AnsweredAt, string AppId, string? AppName, string? Description, string? BindingMessage, string Answer, string Origin, bool ByPolicy);

/// <summary>What this device knows of a connection it made: when, and the app's name then.</summary>
internal sealed record ConnectionNote(DateTimeOffset ConnectedAt, string? AppName);

/// <summary>What the authenticator keeps of its own: the history and its connection notes.</summary>
internal sealed record LocalState
{
    public List<HistoryEntry> History { get; init; } = [];

    public Dictionary<string, ConnectionNote> Connections { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The authenticator's own records (the history of answered requests, when each app was connected), encrypted
/// (AES-256-GCM) with a key derived from the passphrase, beside the device. Every change rewrites the file atomically;
/// it is small (one entry per answer).
/// </summary>
internal sealed class LocalStore(string path, byte[] key)
{
    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private static readonly byte[] AssociatedData = Encoding.ASCII.GetBytes("self-authenticator-history-v1");
    private readonly Lock _gate = new();
    private LocalState? _state;

    public IReadOnlyList<HistoryEntry> History
    {
        get
        {
            lock (_gate)
            {
                return [.. Load().History];
            }
        }
    }

    public ConnectionNote? Connection(string appId)
    {
        lock (_gate)
        {
            return Load().Connections.GetValueOrDefault(appId);
        }
    }

    public void Append(HistoryEntry entry) => Change(state => state.History.Insert(0, entry));

    public void NoteConnection(string appId, ConnectionNote? note) => Change(state =>
    {
        if (note is null)
        {
            state.Connections.Remove(appId);
        }
        else
        {
            state.Connections[appId] = note;
        }
    });

    private void Change(Action<LocalState> change)
    {
        lock (_gate)
        {
            var state = Load();
            change(state);
            var plain = JsonSerializer.SerializeToUtf8Bytes(state, VaultJson.Default.LocalState);
            var output = new byte[NonceBytes + TagBytes + plain.Length];
            var nonce = output.AsSpan(0, NonceBytes);
            RandomNumberGenerator.Fill(nonce);
            using (var aes = new AesGcm(key, TagBytes))
            {
                aes.Encrypt(nonce, plain, output.AsSpan(NonceBytes + TagBytes), output.AsSpan(NonceBytes, TagBytes), AssociatedData);
            }

            SecretFiles.Write(path, output);
        }
    }

    private LocalState Load()
    {
        if (_state is not null)
        {
            return _state;
        }

        if (!File.Exists(path))
        {
            return _state = new LocalState();
        }

        var data = File.ReadAllBytes(path);
        if (data.Length < NonceBytes + TagBytes)
        {
            throw new InvalidDataException($"{path} is damaged.");
        }

        var plain = new byte[data.Length - NonceBytes - TagBytes];
        using (var aes = new AesGcm(key, TagBytes))
        {
            aes.Decrypt(data.AsSpan(0, NonceBytes), data.AsSpan(NonceBytes + TagBytes), data.AsSpan(NonceBytes, TagBytes), plain, AssociatedData);
        }

        return _state = JsonSerializer.Deserialize(plain, VaultJson.Default.LocalState) ?? new LocalState();
    }
}
