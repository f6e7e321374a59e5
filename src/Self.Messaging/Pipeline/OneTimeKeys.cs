using Microsoft.Extensions.Logging;
using Self.Crypto.Olm;
using Self.Protocol.Identifiers;

namespace Self.Messaging;

/// <summary>The pipeline's "one-time keys" job: generates them when few remain, publishes those not yet published.</summary>
internal sealed class OneTimeKeys(OlmSessions olm, SelfRestClient rest, Address self, ILogger logger)
{
    private readonly string _selfText = self.ToString();

    /// <summary>True when keys should be generated or published (read under the Olm lock).</summary>
    public bool NeedsWorkLocked => olm.Account.NeedsReplenishment || olm.Account.UnpublishedOneTimeKeyCount > 0;

    /// <summary>Publishes 100 new one-time keys when fewer than 10 remain (and any not yet published).</summary>
    public async Task ReplenishAsync(CancellationToken cancellationToken)
    {
        using (await olm.LockAsync(cancellationToken).ConfigureAwait(false))
        {
            if (olm.Account.NeedsReplenishment && olm.Account.UnpublishedOneTimeKeyCount == 0)
            {
                olm.Account.GenerateOneTimeKeys(OlmAccount.OneTimeKeyBatchSize);
                await olm.SaveAccountLockedAsync(CancellationToken.None).ConfigureAwait(false);
            }

            await PublishUnpublishedLockedAsync(throwOnFailure: false, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Publishes the keys not yet published, then records that they are (a failure is logged, or thrown).</summary>
    public async Task PublishUnpublishedLockedAsync(bool throwOnFailure, CancellationToken cancellationToken)
    {
        var keys = olm.Account.GetUnpublishedOneTimeKeys();
        if (keys.Count == 0)
        {
            return;
        }

        try
        {
            await rest.PublishPreKeysAsync(self.Device, keys, cancellationToken).ConfigureAwait(false);
        }
        catch (SelfException ex) when (!throwOnFailure)
        {
            Log.OneTimeKeyPublishFailed(logger, ex, _selfText);
            return;
        }

        olm.Account.MarkKeysAsPublished();
        await olm.SaveAccountLockedAsync(CancellationToken.None).ConfigureAwait(false);
        Log.OneTimeKeysPublished(logger, keys.Count, _selfText);
    }
}
