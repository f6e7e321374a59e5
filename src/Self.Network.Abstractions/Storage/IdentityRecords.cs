using Self.Protocol.Rest;

namespace Self.Network.Storage;

/// <summary>What kind of identity an id names (the wire values are <c>individual</c> and <c>app</c>).</summary>
public enum IdentityType
{
    /// <summary>A person, with a 10–11 digit Self ID.</summary>
    Individual = 0,

    /// <summary>An application, with a 32 hex character id.</summary>
    App = 1,
}

/// <summary>An identity registered on the network.</summary>
/// <param name="Id">The Self ID or app id.</param>
/// <param name="Type">Person or app.</param>
/// <param name="Name">The app's display name; null for people.</param>
/// <param name="Image">The app's image URL, when it has one.</param>
/// <param name="CreatedAt">When the identity was registered.</param>
/// <param name="RootKey">
/// The fingerprint of the key that signed the root operation (<see cref="IdentityRecord.RootKeyOf"/>). A store refuses
/// a second identity with the same root key (<see cref="CreateIdentityResult.RootTaken"/>): one root operation makes one
/// identity. Only written by <see cref="IIdentityStore.CreateAsync"/>; records read back carry null.
/// </param>
public sealed record IdentityRecord(string Id, IdentityType Type, string? Name, string? Image, DateTimeOffset CreatedAt, string? RootKey = null)
{
    /// <summary>Lower-case hex SHA-256 of the root signing key's public key.</summary>
    public static string RootKeyOf(ReadOnlySpan<byte> publicKey) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(publicKey));
}

/// <summary>What <see cref="IIdentityStore.CreateAsync"/> did.</summary>
public enum CreateIdentityResult
{
    /// <summary>The identity, its history and its devices are stored.</summary>
    Created = 0,

    /// <summary>The id is already registered; nothing was stored.</summary>
    IdTaken = 1,

    /// <summary>Another identity was registered with the same root key (<see cref="IdentityRecord.RootKey"/>); nothing was stored.</summary>
    RootTaken = 2,
}

/// <summary>One validated operation to add at the end of an identity's history, and what it does to the devices.</summary>
/// <param name="Sequence">The operation's sequence number; the store refuses it unless the history holds exactly this many operations.</param>
/// <param name="Operation">The operation's flattened JWS JSON.</param>
/// <param name="ActivatedDevices">
/// Devices whose current key this operation adds or replaces: they must be active, and any one-time keys stored for them
/// are dropped, since those belong to the Olm account of the key they replace.
/// </param>
/// <param name="DeactivatedDevices">Devices left with no current key; they stop being active and lose their one-time keys.</param>
public sealed record HistoryAppend(
    long Sequence,
    string Operation,
    IReadOnlyCollection<string> ActivatedDevices,
    IReadOnlyCollection<string> DeactivatedDevices);

/// <summary>
/// A permit as the store keeps it: <paramref name="IdentityId"/> accepts messages from the permit's source until it
/// lapses. The permit itself is the one <see cref="ConnectionPermit"/> record the client also reads.
/// </summary>
/// <param name="IdentityId">The identity that gave the permit.</param>
/// <param name="Permit">Who may send (an app id, a Self ID, or <c>*</c> for everyone) and until when (<c>acl_exp</c>).</param>
/// <param name="IssuedAt">The <c>iat</c> of the signed permit; an older permit or revoke for the same source cannot override a newer one.</param>
public sealed record StoredPermit(string IdentityId, ConnectionPermit Permit, DateTimeOffset IssuedAt);

/// <summary>What <see cref="IConnectionStore.PutAsync"/> did.</summary>
public enum PutPermitResult
{
    /// <summary>The permit is stored and in force.</summary>
    Stored = 0,

    /// <summary>A newer permit or revoke for the same source is stored; nothing changed.</summary>
    Stale = 1,
}

/// <summary>What <see cref="IConnectionStore.RevokeAsync"/> did.</summary>
public enum RevokePermitResult
{
    /// <summary>The permit is revoked.</summary>
    Revoked = 0,

    /// <summary>There is no permit in force for that source; nothing changed.</summary>
    NotFound = 1,

    /// <summary>The stored permit is newer than the revoke; nothing changed.</summary>
    Stale = 2,
}

/// <summary>A message kept in an inbox.</summary>
/// <param name="Offset">Its position in the inbox; strictly increasing per inbox.</param>
/// <param name="Timestamp">When the server accepted it, unix nanoseconds.</param>
/// <param name="Frame">The Message frame as the sender's connection received it.</param>
public sealed record InboxMessage(long Offset, long Timestamp, ReadOnlyMemory<byte> Frame);
