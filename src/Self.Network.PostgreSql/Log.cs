using Microsoft.Extensions.Logging;

namespace Self.Network.PostgreSql;

/// <summary>Every log message of the PostgreSQL registry, with stable event ids. Connection strings never appear.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 7000, Level = LogLevel.Information, Message = "PostgreSQL registry ready in schema {Schema} (schema version {Version})")]
    public static partial void Ready(ILogger logger, string schema, int version);

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Applied PostgreSQL migration {Version} ({Description}) to schema {Schema}")]
    public static partial void MigrationApplied(ILogger logger, int version, string description, string schema);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Error, Message = "Schema {Schema} is at version {Found}, newer than this server knows ({Known}); upgrade the server")]
    public static partial void SchemaTooNew(ILogger logger, string schema, int found, int known);
}
