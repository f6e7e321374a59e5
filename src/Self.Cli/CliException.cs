namespace Self.Cli;

/// <summary>A refused or failed command: its message is printed as is and the command exits with <see cref="ExitCode"/>.</summary>
public sealed class CliException(string message, int exitCode = ExitCodes.Failed) : Exception(message)
{
    /// <summary>The process exit code.</summary>
    public int ExitCode { get; } = exitCode;
}

/// <summary>The exit codes of every command.</summary>
public static class ExitCodes
{
    /// <summary>Success (for <c>auth request</c>: accepted).</summary>
    public const int Ok = 0;

    /// <summary>A refused or failed operation; the message says why.</summary>
    public const int Failed = 1;

    /// <summary>Bad usage.</summary>
    public const int Usage = 2;

    /// <summary><c>auth request</c>: the user rejected.</summary>
    public const int Rejected = 3;

    /// <summary><c>auth request</c>: no answer before expiry.</summary>
    public const int Expired = 4;
}
