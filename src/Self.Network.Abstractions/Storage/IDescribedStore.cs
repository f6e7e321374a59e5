namespace Self.Network.Storage;

/// <summary>
/// Implemented by stores that can tell an operator where their data lives, e.g. <c>SQLite /srv/self/self-network.db</c>
/// or <c>PostgreSQL self@db:5432/self, schema self_network</c>. Shown at start; never holds a secret.
/// </summary>
public interface IDescribedStore
{
    /// <summary>The kind of backend and where it is, without credentials.</summary>
    string Description { get; }
}
