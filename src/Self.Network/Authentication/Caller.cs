using Self.Network.Registry;
using Self.Protocol.Auth;

namespace Self.Network.Authentication;

/// <summary>Who made an authenticated request: the identity, its history and the verified token.</summary>
/// <param name="Identity">The caller's identity.</param>
/// <param name="Claims">The verified auth token.</param>
internal sealed record Caller(RegisteredIdentity Identity, AuthTokenClaims Claims)
{
    /// <summary>The caller's Self ID or app id.</summary>
    public string Id => Identity.Id;
}
