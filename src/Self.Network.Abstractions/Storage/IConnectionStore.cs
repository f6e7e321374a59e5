namespace Self.Network.Storage;

/// <summary>Connection permits: who may send to whom (spec §7).</summary>
public interface IConnectionStore
{
    /// <summary>Stores a permit, replacing any earlier permit or revoke for the same source.</summary>
    ValueTask<PutPermitResult> PutAsync(StoredPermit permit, CancellationToken cancellationToken = default);

    /// <summary>Revokes the permit that <paramref name="identityId"/> gave <paramref name="source"/>.</summary>
    /// <param name="identityId">The identity that gave the permit.</param>
    /// <param name="source">The source named in the permit.</param>
    /// <param name="issuedAt">The <c>iat</c> of the signed revoke.</param>
    /// <param name="now">Permits that lapsed before this are not in force.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<RevokePermitResult> RevokeAsync(
        string identityId,
        string source,
        DateTimeOffset issuedAt,
        DateTimeOffset now,
        CancellationToken cancellationToken = default);

    /// <summary>The permits of an identity that are in force at <paramref name="now"/>, ordered by source.</summary>
    ValueTask<IReadOnlyList<StoredPermit>> ListAsync(string identityId, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Whether <paramref name="identityId"/> has a permit in force for <paramref name="source"/> or for <c>*</c>.</summary>
    ValueTask<bool> IsPermittedAsync(string identityId, string source, DateTimeOffset now, CancellationToken cancellationToken = default);
}
