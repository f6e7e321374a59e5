using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace Self.Authenticator;

// The user-verification part of the AuthenticatorApp: the person may ask for their passphrase again before every Accept,
// so that whoever finds the page open and unlocked cannot accept for them. The check derives the keys again (Argon2id)
// and compares a digest of them with the one kept from the unlock; the passphrase itself is never kept.
internal sealed partial class AuthenticatorApp
{
    private readonly SemaphoreSlim _verifyLock = new(1, 1);
    private PassphraseVault? _vault;
    private byte[]? _passphraseDigest;

    private void Unlocked(PassphraseVault vault, DerivedKeys keys)
    {
        _vault = vault;
        _passphraseDigest = SHA256.HashData(keys.LocalKey);
        _board.RequirePassphrase = vault.Settings.VerifyBeforeAccept;
    }

    /// <summary>Null when an Accept may go ahead; otherwise what the person must fix.</summary>
    private async Task<string?> PassphraseProblemAsync(string? passphrase, CancellationToken cancellationToken)
    {
        if (!_board.RequirePassphrase)
        {
            return null;
        }

        if (string.IsNullOrEmpty(passphrase))
        {
            return "Type your passphrase to accept: this device asks for it before every Accept.";
        }

        return await PassphraseMatchesAsync(passphrase, cancellationToken).ConfigureAwait(false)
            ? null
            : "That is not your passphrase: nothing was sent.";
    }

    private async Task<bool> PassphraseMatchesAsync(string passphrase, CancellationToken cancellationToken)
    {
        if (_vault is not { } vault || _passphraseDigest is not { } expected)
        {
            return false;
        }

        // One derivation at a time: each takes the vault's Argon2id memory (64 MiB by default).
        await _verifyLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var keys = vault.Derive(passphrase);
            return CryptographicOperations.FixedTimeEquals(SHA256.HashData(keys.LocalKey), expected);
        }
        finally
        {
            _verifyLock.Release();
        }
    }

    /// <summary>POST /identity/verification: turns the passphrase-before-Accept setting on or off, with the passphrase.</summary>
    private async Task<IResult> VerificationAsync(HttpContext context)
    {
        if (_device is null || _vault is not { } vault)
        {
            return Results.Redirect("/");
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var enable = form["enabled"].ToString() == "on";
        if (!await PassphraseMatchesAsync(form["passphrase"].ToString(), context.RequestAborted).ConfigureAwait(false))
        {
            _flash = (null, "That is not your passphrase: the setting is unchanged.");
            return Results.Redirect("/identity");
        }

        vault.SaveVerifyBeforeAccept(enable);
        _board.RequirePassphrase = enable;
        foreach (var item in _board.Items.Where(static i => i.Request.Answer is null))
        {
            _board.Refresh(item); // open pages redraw the card with (or without) the passphrase field
        }

        _flash = (enable ? "This device now asks for your passphrase before each Accept." : "This device no longer asks for your passphrase before an Accept.", null);
        return Results.Redirect("/identity");
    }
}
