using Self.Network.Storage;
using Self.Protocol.KeyHistory;

namespace Self.Network.Registry;

/// <summary>An identity with its validated key history.</summary>
/// <param name="Record">What the store keeps about the identity.</param>
/// <param name="Graph">The validated history.</param>
/// <param name="Operations">The history's operations as stored (flattened JWS JSON), oldest first.</param>
internal sealed record RegisteredIdentity(IdentityRecord Record, SignatureGraph Graph, IReadOnlyList<string> Operations)
{
    /// <summary>The Self ID or app id.</summary>
    public string Id => Record.Id;

    /// <summary>True for apps.</summary>
    public bool IsApp => Record.Type == IdentityType.App;
}
