namespace Self.Protocol.Rest;

/// <summary>One stored permit (spec §7): who may send to the identity, and until when.</summary>
/// <param name="Source">The permitted app id, or <c>*</c>.</param>
/// <param name="Expires">When the permit lapses.</param>
public sealed record ConnectionPermit(string Source, DateTimeOffset Expires);
