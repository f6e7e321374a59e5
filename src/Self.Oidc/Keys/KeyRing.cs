using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;
using Self.Oidc.Storage;

namespace Self.Oidc.Keys;

/// <summary>
/// The provider's keys, kept in its database so that restarts and other instances use the same ones: RSA signing keys
/// (the newest signs; a new one is made when it is older than the lifetime; older ones stay published in the JWKS so
/// tokens they signed still verify) and one symmetric key that encrypts OpenIddict's codes.
/// </summary>
internal sealed class KeyRing
{
    public const string SigningUse = "sig";
    public const string EncryptionUse = "enc";

    private KeyRing(RsaSecurityKey current, IReadOnlyList<RsaSecurityKey> published, SymmetricSecurityKey encryption)
    {
        Current = current;
        Published = published;
        Encryption = encryption;
    }

    /// <summary>The key that signs new tokens.</summary>
    public RsaSecurityKey Current { get; }

    /// <summary>Every signing key still published, newest first (includes <see cref="Current"/>).</summary>
    public IReadOnlyList<RsaSecurityKey> Published { get; }

    /// <summary>The key that encrypts codes and other OpenIddict tokens.</summary>
    public SymmetricSecurityKey Encryption { get; }

    /// <summary>Loads the keys, making the missing ones and a fresh signing key when the newest is too old.</summary>
    public static async Task<KeyRing> LoadAsync(OidcDbContext db, TimeSpan lifetime, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var keys = await db.Keys.AsNoTracking().ToListAsync(cancellationToken).ConfigureAwait(false);
        var signing = keys.Where(k => k.Use == SigningUse).OrderByDescending(k => k.CreatedAt).ToList();
        var changed = false;
        if (signing.Count == 0 || now - signing[0].CreatedAt >= lifetime)
        {
            signing.Insert(0, await AddAsync(db, SigningUse, NewRsa(), now, cancellationToken).ConfigureAwait(false));
            changed = true;
        }

        var encryption = keys.Where(k => k.Use == EncryptionUse).OrderByDescending(k => k.CreatedAt).FirstOrDefault();
        if (encryption is null)
        {
            encryption = await AddAsync(db, EncryptionUse, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), now, cancellationToken).ConfigureAwait(false);
            changed = true;
        }

        if (changed)
        {
            // Another instance may have made keys at the same moment: read back what the database holds.
            return await LoadAsync(db, lifetime + lifetime, now, cancellationToken).ConfigureAwait(false);
        }

        // A key retired more than two lifetimes ago signed nothing that is still valid.
        var published = signing.Where((k, i) => i == 0 || now - k.CreatedAt < lifetime * 3).Select(ToRsa).ToList();
        var symmetric = new SymmetricSecurityKey(Convert.FromBase64String(encryption.Material)) { KeyId = encryption.Kid };
        return new KeyRing(published[0], published, symmetric);
    }

    /// <summary>Adds a new signing key now, so the next start signs with it (rotation on demand).</summary>
    public static async Task<string> RotateAsync(OidcDbContext db, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Newer than every key so far, even on a clock that has not moved since the last one.
        var existing = await db.Keys.AsNoTracking().Where(k => k.Use == SigningUse).Select(k => k.CreatedAt).ToListAsync(cancellationToken).ConfigureAwait(false);
        var at = existing.Count > 0 && existing.Max() >= now ? existing.Max().AddSeconds(1) : now;
        var key = await AddAsync(db, SigningUse, NewRsa(), at, cancellationToken).ConfigureAwait(false);
        return key.Kid;
    }

    private static async Task<KeyEntity> AddAsync(OidcDbContext db, string use, string material, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var entity = new KeyEntity
        {
            Kid = use + "-" + now.ToUnixTimeSeconds() + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)),
            Use = use,
            Material = material,
            CreatedAt = now,
        };
        db.Keys.Add(entity);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        db.ChangeTracker.Clear();
        return entity;
    }

    private static string NewRsa()
    {
        using var rsa = RSA.Create(2048);
        return Convert.ToBase64String(rsa.ExportPkcs8PrivateKey());
    }

    private static RsaSecurityKey ToRsa(KeyEntity entity)
    {
        var rsa = RSA.Create();
        rsa.ImportPkcs8PrivateKey(Convert.FromBase64String(entity.Material), out _);
        return new RsaSecurityKey(rsa) { KeyId = entity.Kid };
    }
}
