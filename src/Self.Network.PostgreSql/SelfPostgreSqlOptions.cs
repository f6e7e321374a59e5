using System.Text.RegularExpressions;
using Npgsql;

namespace Self.Network.PostgreSql;

/// <summary>Where the PostgreSQL registry lives.</summary>
public sealed partial record SelfPostgreSqlOptions
{
    /// <summary>The default schema that holds the registry's tables.</summary>
    public const string DefaultSchema = "self_network";

    /// <summary>
    /// An Npgsql connection string, e.g. <c>Host=db;Username=self;Password=…;Database=self</c>. Pooling is on unless the
    /// string turns it off; the search path is set to <see cref="Schema"/>.
    /// </summary>
    public required string ConnectionString { get; init; }

    /// <summary>
    /// The schema of the registry's tables (created when missing). Every server instance of one network uses the same
    /// schema; two networks may share a database with different schemas.
    /// </summary>
    public string Schema { get; init; } = DefaultSchema;

    /// <summary>
    /// Let Npgsql log every command it runs (at Information). Off by default: only its warnings and errors reach the
    /// log. Parameter values are never logged either way.
    /// </summary>
    public bool LogCommands { get; init; }

    /// <summary>Checks the settings and throws <see cref="ArgumentException"/> naming the first one to fix.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("SelfPostgreSqlOptions.ConnectionString is required.", nameof(ConnectionString));
        }

        try
        {
            _ = new NpgsqlConnectionStringBuilder(ConnectionString);
        }
        catch (ArgumentException ex)
        {
            // Npgsql names the bad keyword, never a value, so no password is repeated.
            throw new ArgumentException(
                $"SelfPostgreSqlOptions.ConnectionString is not an Npgsql connection string (such as Host=db;Username=self;Database=self): {ex.Message}",
                nameof(ConnectionString));
        }

        if (!SchemaName().IsMatch(Schema ?? string.Empty))
        {
            throw new ArgumentException(
                "SelfPostgreSqlOptions.Schema must be a plain lowercase identifier (a-z, 0-9, _; at most 63 characters, not starting with a digit).",
                nameof(Schema));
        }
    }

    /// <summary>Says where the registry is without the connection string's secrets.</summary>
    public override string ToString() => $"SelfPostgreSqlOptions {{ Schema = {Schema}, LogCommands = {LogCommands} }}";

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex SchemaName();
}
