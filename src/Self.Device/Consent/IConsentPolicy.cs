namespace Self.Device;

/// <summary>What a <see cref="IConsentPolicy"/> decides for one request.</summary>
public enum ConsentDecision
{
    /// <summary>A person decides: the request goes to <see cref="SelfDevice.Requests"/>.</summary>
    Ask = 0,

    /// <summary>The device accepts the request by itself.</summary>
    Accept = 1,

    /// <summary>The device rejects the request by itself.</summary>
    Reject = 2,
}

/// <summary>
/// Decides incoming authentication requests for automation (tests, demos, benchmarks). Only requests that passed every
/// check of the spec and come from a connected app reach the policy. Called one request at a time on the device's
/// receiving loop: decide quickly (<see cref="ConsentDecision.Ask"/> leaves the request to a person), and never dispose
/// the device or change its key from here.
/// </summary>
public interface IConsentPolicy
{
    /// <summary>Accept, reject, or ask a person (<see cref="ConsentDecision.Ask"/>).</summary>
    ValueTask<ConsentDecision> DecideAsync(IncomingRequest request, CancellationToken cancellationToken = default);
}
