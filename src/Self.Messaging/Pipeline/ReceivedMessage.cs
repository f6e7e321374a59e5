using Self.Protocol.Identifiers;
using Self.Protocol.Jws;

namespace Self.Messaging;

/// <summary>
/// A message that was decrypted, whose signature verified against the sender's key history (kid valid at
/// <c>iat</c>), whose issuer is the sending identity, and that was not seen before.
/// </summary>
/// <param name="Sender">The sending device's address.</param>
/// <param name="Jws">The signed message.</param>
/// <param name="Type">Its <c>typ</c> claim.</param>
/// <param name="Offset">The inbox offset the server gave it.</param>
internal sealed record ReceivedMessage(Address Sender, FlattenedJws Jws, string Type, long Offset)
{
    /// <summary>
    /// What the endpoint's <see cref="SelfEndpointOptions.PrepareReceive"/> made of the message before its commit
    /// (for the SDK: the response's claims and whether its open request was removed in that commit); null otherwise.
    /// </summary>
    public object? Note { get; init; }

    /// <summary>
    /// When the endpoint commits a receive with its answer (<see cref="SelfEndpointOptions.CommitReceiveWithAnswer"/>):
    /// the receive's commit, not queued yet while the handlers run. An answer sent with
    /// <c>answering:</c> this message joins it; null when the receive was durable before delivery.
    /// </summary>
    public ReceiveCommit? Commit { get; init; }
}
