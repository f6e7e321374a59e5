namespace Self.Network.Tests.Infrastructure;

/// <summary>
/// The tests that share one server (the kit's <see cref="NetworkFixture"/>: a free port, a fresh data folder, limits
/// raised so that tests from 127.0.0.1 do not trip over each other); the rate-limit tests start servers of their own.
/// </summary>
[CollectionDefinition(Name)]
public sealed class NetworkCollection : ICollectionFixture<NetworkFixture>
{
    public const string Name = "network";
}
