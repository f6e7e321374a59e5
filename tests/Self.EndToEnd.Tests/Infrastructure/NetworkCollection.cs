namespace Self.EndToEnd.Tests.Infrastructure;

/// <summary>The collection every end-to-end test class joins, so they share one server (the kit's <see cref="NetworkFixture"/>).</summary>
[CollectionDefinition(Name)]
public sealed class NetworkCollection : ICollectionFixture<NetworkFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "network";
}
