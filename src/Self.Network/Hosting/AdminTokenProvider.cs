using System.Security.Cryptography;
using System.Text;
using Self.Protocol.Encoding;

namespace Self.Network.Hosting;

/// <summary>
/// The operator's admin token: the configured one, else the one kept in <c>&lt;DataDirectory&gt;/admin-token</c>,
/// else a fresh one written there (mode 0600) for the next start.
/// </summary>
public sealed class AdminTokenProvider
{
    /// <summary>The name of the file that keeps a generated token.</summary>
    public const string FileName = "admin-token";

    private readonly byte[] _tokenBytes;

    /// <summary>Resolves the token for <paramref name="options"/>, creating the file when needed.</summary>
    public AdminTokenProvider(SelfNetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        FilePath = Path.GetFullPath(Path.Combine(options.DataDirectory, FileName));
        if (options.AdminToken is { } configured)
        {
            Token = configured.Trim();
            Source = AdminTokenSource.Configured;
        }
        else if (TryRead(FilePath) is { } stored)
        {
            Token = stored;
            Source = AdminTokenSource.File;
        }
        else
        {
            Token = Base64Codec.EncodeUrl(RandomNumberGenerator.GetBytes(32));
            Write(FilePath, Token);
            Source = AdminTokenSource.Generated;
        }

        _tokenBytes = Encoding.UTF8.GetBytes(Token);
    }

    /// <summary>The token.</summary>
    public string Token { get; }

    /// <summary>Where the token came from.</summary>
    public AdminTokenSource Source { get; }

    /// <summary>The file that keeps a generated token (whether or not it is used).</summary>
    public string FilePath { get; }

    /// <summary>Compares <paramref name="candidate"/> with the token in constant time.</summary>
    public bool Matches(string? candidate) =>
        candidate is not null
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(candidate), _tokenBytes);

    private static string? TryRead(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var text = File.ReadAllText(path).Trim();
        return text.Length > 0 ? text : null;
    }

    private static void Write(string path, string token)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        writer.Write(token);
        writer.Write('\n');
    }
}

/// <summary>Where the admin token came from.</summary>
public enum AdminTokenSource
{
    /// <summary>From <see cref="SelfNetworkOptions.AdminToken"/>.</summary>
    Configured = 0,

    /// <summary>Read from the admin-token file of an earlier start.</summary>
    File = 1,

    /// <summary>Generated now and written to the admin-token file.</summary>
    Generated = 2,
}
