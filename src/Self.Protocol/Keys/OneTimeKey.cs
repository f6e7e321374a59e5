using System.Text.Json.Serialization;

namespace Self.Protocol.Keys;

/// <summary>
/// A device's one-time (pre-)key as it is published and handed out (<c>…/pre_keys</c>, spec §5): libolm's key id and the
/// Curve25519 public key, both standard base64 without padding. The one record for it: the Olm account makes it, the
/// REST body carries it (<c>{"id","key"}</c>), the server's store keeps it.
/// </summary>
/// <param name="Id">The 4-byte big-endian key number in standard base64 without padding (<c>AAAAZA</c> is 100).</param>
/// <param name="Key">The Curve25519 public key, standard base64 without padding.</param>
public sealed record OneTimeKey(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("key")] string Key);
