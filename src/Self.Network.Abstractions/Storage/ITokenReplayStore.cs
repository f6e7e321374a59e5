using System.Security.Cryptography;

namespace Self.Network.Storage;

/// <summary>
/// The memory of accepted auth-token ids (spec §4): a token's <c>jti</c> is remembered until the token could no
/// longer be valid, so that the same token is accepted once. Every instance of a scaled-out network must share it
/// (the SQLite default serves one instance; <c>Self.Network.PostgreSql</c> registers a shared one).
/// </summary>
public interface ITokenReplayStore
{
    /// <summary>
    /// Remembers <paramref name="jti"/> of <paramref name="issuer"/> until <paramref name="until"/>. Returns false when
    /// it is remembered already and has not expired at <paramref name="now"/>: the token is a replay. Entries past
    /// their time are dropped as the store goes.
    /// </summary>
    ValueTask<bool> TryRememberAsync(string issuer, string jti, DateTimeOffset until, DateTimeOffset now, CancellationToken cancellationToken = default);
}

/// <summary>How the replay stores key a token: a fixed-size hash of issuer and jti, so a long jti costs nothing more.</summary>
public static class TokenReplayKey
{
    /// <summary>Lower-case hex SHA-256 of <c>issuer \n jti</c>.</summary>
    public static string Of(string issuer, string jti)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(jti);
        return Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(issuer + "\n" + jti)));
    }
}
