namespace Self.Device;

/// <summary>An app's invitation to connect (<c>identities.connections.req</c>), checked and ready to show.</summary>
/// <param name="AppId">The app that invites.</param>
/// <param name="AppName">Its name: the invitation's <c>app_name</c>, else the name the network knows.</param>
/// <param name="Description">Why it wants to connect, when it says.</param>
/// <param name="ConversationId">The conversation id the answer carries back.</param>
/// <param name="ExpiresAt">After this the invitation can no longer be answered.</param>
public sealed record AppInvitation(string AppId, string? AppName, string? Description, string ConversationId, DateTimeOffset ExpiresAt);
