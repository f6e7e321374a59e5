namespace Self.Network.Storage;

/// <summary>
/// Decides which messaging connection serves an address. Spec §6: a second live connection for the same address
/// supersedes the first, which is closed with 1011 "connection superseded". The default,
/// <c>LocalAddressClaims</c> (in Self.Network), knows the connections of this process; a multi-instance backend (e.g. NATS) also
/// tells the other instances, so that the newest connection wins wherever each one landed.
/// </summary>
public interface IAddressClaims
{
    /// <summary>
    /// Makes a newly authenticated connection the one that serves <paramref name="address"/>: every older claim of the
    /// address, here or on another instance, is superseded. <paramref name="onSuperseded"/> runs at most once, when a
    /// newer claim takes over; it must not block or throw. Disposing the result gives the claim up quietly.
    /// </summary>
    IDisposable Claim(string address, Action onSuperseded);
}
