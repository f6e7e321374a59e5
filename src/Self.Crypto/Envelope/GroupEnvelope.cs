using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using Geralt;
using Self.Protocol.Encoding;
using Self.Protocol.Identifiers;
using Self.Crypto.Olm;

namespace Self.Crypto.Envelope;

/// <summary>One recipient device of an envelope: its address (<c>selfid:device</c>) and our session with it.</summary>
/// <param name="Address">The recipient's inbox address; its <c>selfid:device</c> form is the entry's key in the JSON.</param>
/// <param name="Session">Our Olm session with that device; it encrypts the entry (and moves on: persist it).</param>
public sealed record EnvelopeRecipient(Address Address, OlmSession Session);

/// <summary>
/// Decrypts our own envelope entry and returns its Olm plaintext (the 56 bytes key ‖ nonce). The messaging
/// layer picks the session for the sender, or creates an inbound one from a pre-key entry.
/// </summary>
public delegate byte[] EnvelopeEntryDecryptor(OlmMessage entry);

/// <summary>
/// The end-to-end envelope of a <c>Message</c> frame (spec §8): UTF-8 JSON
/// <c>{"recipients":{"&lt;selfid&gt;:&lt;did&gt;":{"mtype":0|1,"ciphertext":"&lt;olm b64&gt;"},…},"ciphertext":"&lt;b64 body&gt;"}</c>.
/// The body is XChaCha20-Poly1305-IETF under a fresh 32-byte key and 24-byte nonce, no associated data; each
/// recipient's Olm plaintext is key ‖ nonce.
/// </summary>
public sealed class GroupEnvelope
{
    /// <summary>Length of a recipient's Olm plaintext: the 32-byte body key, then the 24-byte nonce.</summary>
    public const int EntryPlaintextLength = XChaCha20Poly1305.KeySize + XChaCha20Poly1305.NonceSize;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly byte[] _ciphertext;

    private GroupEnvelope(IReadOnlyDictionary<string, OlmMessage> recipients, byte[] ciphertext)
    {
        Recipients = recipients;
        _ciphertext = ciphertext;
    }

    /// <summary>The entries, by recipient address as written in the JSON (<c>selfid:device</c>).</summary>
    public IReadOnlyDictionary<string, OlmMessage> Recipients { get; }

    /// <summary>The encrypted body (ciphertext ‖ 16-byte tag).</summary>
    public ReadOnlySpan<byte> Ciphertext => _ciphertext;

    /// <summary>
    /// Encrypts <paramref name="plaintext"/> once and the body key for each recipient with its session, and
    /// returns the envelope's UTF-8 JSON. Every session moves on by one message: persist them afterwards.
    /// </summary>
    /// <exception cref="ArgumentException">No recipients, an empty address, or an address given twice.</exception>
    public static byte[] Seal(ReadOnlySpan<byte> plaintext, IEnumerable<EnvelopeRecipient> recipients)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        var list = recipients.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("An envelope needs at least one recipient.", nameof(recipients));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var recipient in list)
        {
            ArgumentNullException.ThrowIfNull(recipient);
            ArgumentNullException.ThrowIfNull(recipient.Session, nameof(recipients));
            if (string.IsNullOrEmpty(recipient.Address.Id) || string.IsNullOrEmpty(recipient.Address.Device))
            {
                throw new ArgumentException("A recipient address needs an id and a device.", nameof(recipients));
            }

            if (!seen.Add(recipient.Address.ToString()))
            {
                throw new ArgumentException($"Recipient {recipient.Address} is listed twice.", nameof(recipients));
            }
        }

        Span<byte> keyAndNonce = stackalloc byte[EntryPlaintextLength];
        SecureRandom.Fill(keyAndNonce);
        try
        {
            var ciphertext = new byte[plaintext.Length + XChaCha20Poly1305.TagSize];
            XChaCha20Poly1305.Encrypt(
                ciphertext,
                plaintext,
                keyAndNonce[XChaCha20Poly1305.KeySize..],
                keyAndNonce[..XChaCha20Poly1305.KeySize],
                associatedData: default);

            using var buffer = new MemoryStream(ciphertext.Length * 4 / 3 + 256 * list.Count);
            using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            {
                writer.WriteStartObject();
                writer.WriteStartObject("recipients"u8);
                foreach (var recipient in list)
                {
                    var entry = recipient.Session.Encrypt(keyAndNonce);
                    writer.WriteStartObject(recipient.Address.ToString());
                    writer.WriteNumber("mtype"u8, (int)entry.Type);
                    writer.WriteString("ciphertext"u8, entry.Body);
                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
                writer.WriteString("ciphertext"u8, Base64Codec.EncodeStandard(ciphertext));
                writer.WriteEndObject();
            }

            return buffer.ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keyAndNonce);
        }
    }

    /// <summary>
    /// Reads an envelope, finds the entry for <paramref name="ownAddress"/>, lets
    /// <paramref name="decryptEntry"/> decrypt it, and returns the decrypted body.
    /// </summary>
    /// <exception cref="EnvelopeException"><c>bad_envelope</c>, <c>no_entry_for_recipient</c> or
    /// <c>bad_envelope_body</c>. Exceptions of <paramref name="decryptEntry"/> (e.g. <see cref="OlmException"/>)
    /// pass through.</exception>
    public static byte[] Open(ReadOnlySpan<byte> envelope, Address ownAddress, EnvelopeEntryDecryptor decryptEntry) =>
        Parse(envelope).Open(ownAddress, decryptEntry);

    /// <summary>Reads an envelope's JSON without decrypting anything.</summary>
    /// <exception cref="EnvelopeException"><c>bad_envelope</c> when it is not the specified JSON.</exception>
    public static GroupEnvelope Parse(ReadOnlySpan<byte> envelope)
    {
        try
        {
            var reader = new Utf8JsonReader(envelope, new JsonReaderOptions { MaxDepth = 8 });
            using var document = JsonDocument.ParseValue(ref reader);
            if (reader.Read())
            {
                throw Bad("it has content after the JSON object");
            }

            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("recipients"u8, out var recipientsElement)
                || recipientsElement.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("ciphertext"u8, out var bodyElement)
                || bodyElement.ValueKind != JsonValueKind.String)
            {
                throw Bad("it needs an object \"recipients\" and a string \"ciphertext\"");
            }

            if (!Base64Codec.TryDecode(bodyElement.GetString(), out var body) || body.Length < XChaCha20Poly1305.TagSize)
            {
                throw Bad("its \"ciphertext\" is not base64 of an AEAD ciphertext");
            }

            var recipients = new Dictionary<string, OlmMessage>(StringComparer.Ordinal);
            foreach (var property in recipientsElement.EnumerateObject())
            {
                var entry = property.Value;
                if (entry.ValueKind != JsonValueKind.Object
                    || !entry.TryGetProperty("mtype"u8, out var typeElement)
                    || typeElement.ValueKind != JsonValueKind.Number
                    || !typeElement.TryGetInt32(out var type)
                    || type is not (0 or 1)
                    || !entry.TryGetProperty("ciphertext"u8, out var cipherElement)
                    || cipherElement.ValueKind != JsonValueKind.String)
                {
                    throw Bad($"the entry for {property.Name} needs \"mtype\" 0 or 1 and a string \"ciphertext\"");
                }

                if (!recipients.TryAdd(property.Name, new OlmMessage((OlmMessageType)type, cipherElement.GetString()!)))
                {
                    throw Bad($"{property.Name} has two entries");
                }
            }

            return new GroupEnvelope(recipients, body);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new EnvelopeException(CryptoErrorCodes.BadEnvelope, "The envelope is not valid JSON.", e);
        }
    }

    /// <summary>
    /// Decrypts our entry with <paramref name="decryptEntry"/> and then the body.
    /// </summary>
    /// <exception cref="EnvelopeException"><c>no_entry_for_recipient</c> or <c>bad_envelope_body</c>.</exception>
    public byte[] Open(Address ownAddress, EnvelopeEntryDecryptor decryptEntry)
    {
        ArgumentNullException.ThrowIfNull(decryptEntry);
        if (!Recipients.TryGetValue(ownAddress.ToString(), out var entry))
        {
            throw new EnvelopeException(
                CryptoErrorCodes.NoEntryForRecipient,
                $"The envelope has no entry for {ownAddress}; it holds {Recipients.Count} other recipient(s).");
        }

        var keyAndNonce = decryptEntry(entry);
        try
        {
            return OpenBody(keyAndNonce);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keyAndNonce);
        }
    }

    /// <summary>Decrypts the body with a recipient's Olm plaintext (key ‖ nonce, 56 bytes).</summary>
    /// <exception cref="EnvelopeException"><c>bad_envelope_body</c> for a wrong key or an altered body.</exception>
    public byte[] OpenBody(ReadOnlySpan<byte> keyAndNonce)
    {
        if (keyAndNonce.Length != EntryPlaintextLength)
        {
            throw new EnvelopeException(
                CryptoErrorCodes.BadEnvelopeBody,
                $"The entry decrypted to {keyAndNonce.Length} bytes; a key and nonce are {EntryPlaintextLength}.");
        }

        var plaintext = new byte[_ciphertext.Length - XChaCha20Poly1305.TagSize];
        try
        {
            XChaCha20Poly1305.Decrypt(
                plaintext,
                _ciphertext,
                keyAndNonce[XChaCha20Poly1305.KeySize..],
                keyAndNonce[..XChaCha20Poly1305.KeySize],
                associatedData: default);
        }
        catch (CryptographicException e)
        {
            throw new EnvelopeException(CryptoErrorCodes.BadEnvelopeBody, "The envelope body failed authentication.", e);
        }

        return plaintext;
    }

    private static EnvelopeException Bad(string reason) =>
        new(CryptoErrorCodes.BadEnvelope, $"The envelope is not valid: {reason}.");
}
