using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace Self.Authenticator;

/// <summary>
/// Who may use the page: only the browser that opened the one-time login link. The link's secret is good once; opening
/// it gives that browser an HttpOnly, SameSite=Strict session cookie, and the session's CSRF token must come with every
/// POST. A new link (<see cref="NewLoginSecret"/>) ends the sessions before it.
/// </summary>
internal sealed class WebSession
{
    public const string CookieName = "self-authenticator";
    private readonly Lock _gate = new();
    private byte[]? _loginSecretHash;
    private string? _sessionId;
    private string? _csrfToken;

    /// <summary>A fresh single-use login secret; any earlier link and session stop working.</summary>
    public string NewLoginSecret()
    {
        var secret = NewToken();
        lock (_gate)
        {
            _loginSecretHash = SHA256.HashData(Encoding.ASCII.GetBytes(secret));
            _sessionId = null;
            _csrfToken = null;
        }

        return secret;
    }

    /// <summary>Uses the login secret: a new session id when it is the current, unused secret; null otherwise.</summary>
    public string? TryLogin(string? secret)
    {
        if (string.IsNullOrEmpty(secret) || secret.Length > 100)
        {
            return null;
        }

        var hash = SHA256.HashData(Encoding.ASCII.GetBytes(secret));
        lock (_gate)
        {
            if (_loginSecretHash is null || !CryptographicOperations.FixedTimeEquals(hash, _loginSecretHash))
            {
                return null;
            }

            _loginSecretHash = null;
            _sessionId = NewToken();
            _csrfToken = NewToken();
            return _sessionId;
        }
    }

    /// <summary>True when <paramref name="cookie"/> is the live session's id.</summary>
    public bool IsSession(string? cookie)
    {
        lock (_gate)
        {
            return Same(cookie, _sessionId);
        }
    }

    /// <summary>The live session's CSRF token.</summary>
    public string CsrfToken
    {
        get
        {
            lock (_gate)
            {
                return _csrfToken ?? string.Empty;
            }
        }
    }

    /// <summary>True when <paramref name="token"/> is the live session's CSRF token.</summary>
    public bool IsCsrfToken(string? token)
    {
        lock (_gate)
        {
            return Same(token, _csrfToken);
        }
    }

    private static bool Same(string? given, string? expected) =>
        given is not null && expected is not null &&
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(given), Encoding.ASCII.GetBytes(expected));

    private static string NewToken() => WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
}
