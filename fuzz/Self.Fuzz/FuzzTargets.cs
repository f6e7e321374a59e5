using System.Text;
using Self.Crypto.Envelope;
using Self.Crypto.Olm;
using Self.Protocol;
using Self.Protocol.Auth;
using Self.Protocol.Encoding;
using Self.Protocol.Frames;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;
using Self.Protocol.Keys;
using Self.Protocol.Links;

namespace Self.Fuzz;

/// <summary>
/// Every parser that reads bytes from outside, as one entry point each. A target returns normally for any input the
/// parser accepts or refuses the way it promises (a <see cref="SelfException"/>, or <see cref="FormatException"/> where
/// that is the documented refusal); anything else escaping a target is a bug — a crash for the fuzzer, a failure for
/// the property tests.
/// </summary>
public static class FuzzTargets
{
    // Lazy: instrumented code (Self.Protocol, Self.Crypto) must not run before the fuzzer has set up its shared memory.
    private static readonly Lazy<SigningKey> SignerKey = new(static () => SigningKey.FromSeed("1", new byte[32]));
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_795_858_340);
    private static readonly Lazy<(OlmAccount Bob, OlmSession Session)> Olm = new(CreateSession);

    /// <summary>The targets by name (the names <c>scripts/fuzz.sh</c> takes).</summary>
    public static IReadOnlyDictionary<string, Action<byte[]>> All { get; } = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["frames"] = Frames,
        ["compact-jws"] = CompactJwsText,
        ["flattened-jws"] = FlattenedJwsJson,
        ["auth-token"] = AuthTokenText,
        ["key-history"] = KeyHistoryJson,
        ["envelope"] = Envelope,
        ["olm-message"] = OlmMessageBody,
        ["rest-body"] = RestBody,
        ["deep-link"] = DeepLinkText,
        ["qr-payload"] = QrPayload,
    };

    /// <summary>FlatBuffers frames (spec §6), as the relay and clients read them.</summary>
    public static void Frames(byte[] data)
    {
        try
        {
            var frame = FrameCodec.Decode(data);
            _ = FrameCodec.TryReadHeader(data, out _, out _);
            if (frame is MessageFrame)
            {
                _ = FrameCodec.WithMetadata(data, 1, 2);
            }

            // What decodes must encode again.
            _ = FrameCodec.Encode(frame);
        }
        catch (FrameFormatException)
        {
        }
    }

    /// <summary>Compact JWS (auth tokens' form).</summary>
    public static void CompactJwsText(byte[] data)
    {
        try
        {
            var jws = CompactJws.Parse(Encoding.UTF8.GetString(data));
            _ = jws.Verify(SignerKey.Value.PublicKey);
            _ = jws.ToCompact();
        }
        catch (JwsFormatException)
        {
        }
    }

    /// <summary>Flattened JWS JSON (history operations, permits, messages).</summary>
    public static void FlattenedJwsJson(byte[] data)
    {
        try
        {
            var jws = FlattenedJws.Parse(data);
            _ = jws.Verify(SignerKey.Value.PublicKey);
            _ = jws.ToJson();
        }
        catch (JwsFormatException)
        {
        }
    }

    /// <summary>Auth tokens (spec §4): read, then verified at a fixed time with a fixed key.</summary>
    public static void AuthTokenText(byte[] data)
    {
        var text = Encoding.UTF8.GetString(data);
        try
        {
            _ = AuthToken.ReadUnverified(text);
            _ = AuthToken.Verify(text, SignerKey.Value.PublicKey, Now, AuthToken.DefaultSkew);
        }
        catch (AuthTokenException)
        {
        }
    }

    /// <summary>Key histories (spec §3) as served by <c>GET /history</c>.</summary>
    public static void KeyHistoryJson(byte[] data)
    {
        try
        {
            var graph = SignatureGraph.LoadJson(Encoding.UTF8.GetString(data));
            _ = graph.ActiveDeviceIds;
            _ = graph.IsValidAt(graph.Operations[0].Header.Kid, Now);
        }
        catch (HistoryValidationException)
        {
        }
    }

    /// <summary>Group envelopes (the ciphertext of a Message frame).</summary>
    public static void Envelope(byte[] data)
    {
        try
        {
            _ = GroupEnvelope.Parse(data);
        }
        catch (EnvelopeException)
        {
        }
    }

    /// <summary>Olm messages: the first byte picks the type (pre-key or normal), the rest is the base64 body.</summary>
    public static void OlmMessageBody(byte[] data)
    {
        if (data.Length == 0)
        {
            return;
        }

        var body = Encoding.UTF8.GetString(data, 1, data.Length - 1);
        var (bob, session) = Olm.Value;
        try
        {
            if ((data[0] & 1) == 0)
            {
                _ = OlmSession.CreateInbound(bob, body);
            }
            else
            {
                // A copy, so that a message that does decrypt cannot change the session the next input meets.
                _ = OlmSession.Import(session.Export()).Decrypt(OlmMessageType.Normal, body);
            }
        }
        catch (OlmException)
        {
        }
    }

    /// <summary>REST bodies: strict JSON, then the shapes the API reads (a history, one operation, pre-keys).</summary>
    public static void RestBody(byte[] data)
    {
        System.Text.Json.JsonDocument document;
        try
        {
            document = StrictJson.Parse(data, 32);
        }
        catch (System.Text.Json.JsonException)
        {
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            try
            {
                if (root.ValueKind == System.Text.Json.JsonValueKind.Object && root.TryGetProperty("history", out var history))
                {
                    _ = SignatureGraph.LoadJson(history);
                }
                else if (root.ValueKind == System.Text.Json.JsonValueKind.Object)
                {
                    _ = SignatureGraph.ParseOperation(root.GetRawText());
                }
                else if (root.ValueKind == System.Text.Json.JsonValueKind.Array)
                {
                    foreach (var element in root.EnumerateArray())
                    {
                        if (element.ValueKind == System.Text.Json.JsonValueKind.Object && element.TryGetProperty("key", out var key) && key.ValueKind == System.Text.Json.JsonValueKind.String)
                        {
                            _ = Base64Codec.TryDecode(key.GetString(), out _);
                        }
                    }
                }
            }
            catch (HistoryValidationException)
            {
            }
        }
    }

    /// <summary>Deep links (spec §11): the request's JWS out of the link.</summary>
    public static void DeepLinkText(byte[] data)
    {
        var text = Encoding.UTF8.GetString(data);
        if (string.IsNullOrWhiteSpace(text))
        {
            return;
        }

        try
        {
            _ = FlattenedJws.Parse(DeepLink.ExtractPayload(text));
        }
        catch (Exception ex) when (ex is FormatException or JwsFormatException)
        {
        }
    }

    /// <summary>QR payloads: what a camera reads, a deep link or the JWS JSON itself, as the device takes it.</summary>
    public static void QrPayload(byte[] data) => DeepLinkText(data);

    private static (OlmAccount Bob, OlmSession Session) CreateSession()
    {
        var alice = OlmAccount.FromSeed(new byte[32]);
        var seed = new byte[32];
        seed[0] = 1;
        var bob = OlmAccount.FromSeed(seed);
        bob.GenerateOneTimeKeys(1);
        var oneTime = Base64Codec.Decode(bob.GetUnpublishedOneTimeKeys()[0].Key);
        var outbound = OlmSession.CreateOutbound(alice, bob.Curve25519PublicKey, oneTime);
        var first = outbound.Encrypt("hello"u8);
        var inbound = OlmSession.CreateInbound(bob, first.Body);
        _ = inbound.Decrypt(first);
        return (bob, inbound);
    }
}
