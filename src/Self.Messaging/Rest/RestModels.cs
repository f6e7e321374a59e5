using Self.Protocol.Jws;

namespace Self.Messaging;

/// <summary>An identity as <c>GET /v1/identities/{id}</c> returns it.</summary>
/// <param name="Id">The Self ID or app id.</param>
/// <param name="Type"><c>individual</c> or <c>app</c>.</param>
/// <param name="History">The key history operations, oldest first.</param>
internal sealed record IdentityRecord(string Id, string Type, IReadOnlyList<FlattenedJws> History);

/// <summary>An app as <c>GET /v1/apps/{id}</c> returns it.</summary>
/// <param name="Id">The app id.</param>
/// <param name="Name">The app's display name.</param>
/// <param name="Image">An image URL, when the app has one.</param>
/// <param name="PaidActions">Always true on this network (gen-1 SDKs check it).</param>
/// <param name="History">The key history operations, oldest first.</param>
internal sealed record AppRecord(string Id, string Name, string? Image, bool PaidActions, IReadOnlyList<FlattenedJws> History);

/// <summary>A published one-time key (pre-key) of a device: libolm key id and Curve25519 public key, both standard base64.</summary>
/// <param name="Id">The libolm key id (b64 of the 4-byte big-endian counter).</param>
/// <param name="Key">The Curve25519 public key (b64).</param>
internal sealed record PreKey(string Id, string Key);
