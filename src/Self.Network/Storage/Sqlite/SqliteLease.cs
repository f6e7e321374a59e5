using Microsoft.Data.Sqlite;

namespace Self.Network.Storage.Sqlite;

/// <summary>
/// An open connection lent by <see cref="SqliteDatabase.LeaseAsync"/>, with its commands kept (and so their SQLite
/// statements prepared) from one call to the next. One caller at a time; dispose to give it back.
/// </summary>
internal sealed class SqliteLease(SqliteDatabase database, SqliteConnection connection) : IAsyncDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    /// <summary>The connection (open).</summary>
    public SqliteConnection Connection => connection;

    /// <summary>
    /// The command for <paramref name="sql"/> with the parameters <paramref name="parameters"/> (in that order), created
    /// on first use and reused after; set each parameter's value by index before running it.
    /// </summary>
    public SqliteCommand Command(string sql, params ReadOnlySpan<(string Name, SqliteType Type)> parameters)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, type) in parameters)
            {
                command.Parameters.Add(name, type);
            }

            _commands.Add(sql, command);
        }

        command.Transaction = null;
        return command;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => database.ReturnAsync(this);

    /// <summary>Closes the commands and the connection.</summary>
    internal async ValueTask CloseAsync()
    {
        foreach (var command in _commands.Values)
        {
            await command.DisposeAsync().ConfigureAwait(false);
        }

        _commands.Clear();
        await connection.DisposeAsync().ConfigureAwait(false);
    }
}
