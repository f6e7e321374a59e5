using Self.Protocol.Jws;

namespace Self.Messaging;

/// <summary>
/// An identity as <c>GET /v1/identities/{id}</c> or <c>GET /v1/apps/{id}</c> shows it (the client's one view of
/// either; the server's stored row is <c>Self.Network.Storage.IdentityRecord</c>). Name, image and paid actions are
/// only set for apps.
/// </summary>
/// <param name="Id">The Self ID or app id.</param>
/// <param name="Type"><c>individual</c> or <c>app</c>.</param>
/// <param name="Name">The app's display name; empty for an individual.</param>
/// <param name="Image">An image URL, when the app has one.</param>
/// <param name="PaidActions">Always true for an app on this network (gen-1 SDKs check it).</param>
/// <param name="History">The key history operations, oldest first.</param>
internal sealed record PublishedIdentity(string Id, string Type, string Name, string? Image, bool PaidActions, IReadOnlyList<FlattenedJws> History);
