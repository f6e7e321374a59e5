namespace Self.AspNetCore.Tests.Infrastructure;

/// <summary>The tests that share one network server (the kit's <see cref="NetworkFixture"/>); each makes its own app and users.</summary>
[CollectionDefinition(Name)]
public sealed class NetworkCollection : ICollectionFixture<NetworkFixture>
{
    public const string Name = "network";
}
