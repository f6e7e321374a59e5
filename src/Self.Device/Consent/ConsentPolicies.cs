namespace Self.Device;

/// <summary>The ready-made consent policies.</summary>
public static class ConsentPolicies
{
    /// <summary>Accepts every request without asking.</summary>
    public static IConsentPolicy AlwaysAccept { get; } = new Fixed(ConsentDecision.Accept);

    /// <summary>Rejects every request without asking.</summary>
    public static IConsentPolicy AlwaysReject { get; } = new Fixed(ConsentDecision.Reject);

    /// <summary>Hands every request to a person through <see cref="SelfDevice.Requests"/> (the default).</summary>
    public static IConsentPolicy Ask { get; } = new Fixed(ConsentDecision.Ask);

    /// <summary>A policy from a function, e.g. one that accepts only a given app.</summary>
    public static IConsentPolicy From(Func<IncomingRequest, ConsentDecision> decide)
    {
        ArgumentNullException.ThrowIfNull(decide);
        return new Delegating(decide);
    }

    private sealed class Fixed(ConsentDecision decision) : IConsentPolicy
    {
        public ValueTask<ConsentDecision> DecideAsync(IncomingRequest request, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(decision);

        public override string ToString() => $"ConsentPolicy({decision})";
    }

    private sealed class Delegating(Func<IncomingRequest, ConsentDecision> decide) : IConsentPolicy
    {
        public ValueTask<ConsentDecision> DecideAsync(IncomingRequest request, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(decide(request));
    }
}
