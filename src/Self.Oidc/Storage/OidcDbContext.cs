using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace Self.Oidc.Storage;

/// <summary>
/// The provider's database: OpenIddict's applications, authorizations, scopes and tokens, plus what CIBA adds —
/// requests, client-assertion ids already seen, the signing and encryption keys, and the data-protection keys of the
/// login page's state and the provider's cookie (all shared by every instance).
/// </summary>
internal sealed class OidcDbContext(DbContextOptions<OidcDbContext> options) : DbContext(options), IDataProtectionKeyContext
{
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    public DbSet<CibaRequestEntity> CibaRequests => Set<CibaRequestEntity>();

    public DbSet<SeenAssertionEntity> SeenAssertions => Set<SeenAssertionEntity>();

    public DbSet<KeyEntity> Keys => Set<KeyEntity>();

    public DbSet<ProviderAppEntity> ProviderApps => Set<ProviderAppEntity>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.UseOpenIddict();
        modelBuilder.Entity<CibaRequestEntity>(e =>
        {
            e.ToTable("SelfCibaRequests");
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.AuthReqIdHash).IsUnique();
            e.HasIndex(x => x.ConversationId).IsUnique();
        });
        modelBuilder.Entity<SeenAssertionEntity>(e =>
        {
            e.ToTable("SelfSeenAssertions");
            e.HasKey(x => x.Key);
        });
        modelBuilder.Entity<DataProtectionKey>(e => e.ToTable("SelfDataProtectionKeys"));
        modelBuilder.Entity<ProviderAppEntity>(e =>
        {
            e.ToTable("SelfProviderApp");
            e.HasKey(x => x.Key);
        });
        modelBuilder.Entity<KeyEntity>(e =>
        {
            e.ToTable("SelfKeys");
            e.HasKey(x => x.Kid);
        });
    }
}

/// <summary>The states of a CIBA request.</summary>
internal static class CibaStatus
{
    public const string Pending = "pending";
    public const string Accepted = "accepted";
    public const string Rejected = "rejected";
    public const string Expired = "expired";
    public const string Failed = "failed";
    public const string Redeemed = "redeemed";
}

/// <summary>
/// One CIBA request. The <c>auth_req_id</c> itself is never stored: only its SHA-256, so a copy of the database
/// redeems nothing.
/// </summary>
/// <summary>
/// The provider's Self app, when the database is shared (PostgreSQL): one row, read by every instance. It holds the
/// app's secret, as the database already holds the signing keys.
/// </summary>
internal sealed class ProviderAppEntity
{
    public const string TheKey = "app";

    public required string Key { get; set; }

    public required string AppId { get; set; }

    public required string AppSecret { get; set; }

    public required string StorageKey { get; set; }

    public string? RecoverySecret { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

internal sealed class CibaRequestEntity
{
    public required string Id { get; set; }

    public required string AuthReqIdHash { get; set; }

    public required string ClientId { get; set; }

    public required string SelfId { get; set; }

    public required string ConversationId { get; set; }

    public required string Scopes { get; set; }

    public string? BindingMessage { get; set; }

    public required string Status { get; set; }

    public string? DeviceId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset? AuthenticatedAt { get; set; }

    public DateTimeOffset? LastPolledAt { get; set; }

    public int Interval { get; set; }

    public required string DeliveryMode { get; set; }

    public long Version { get; set; }
}

/// <summary>A client assertion's (client, jti) seen before its expiry: a second use is a replay.</summary>
internal sealed class SeenAssertionEntity
{
    public required string Key { get; set; }

    /// <summary>Unix seconds: SQLite cannot compare DateTimeOffset values in queries.</summary>
    public long ExpiresAt { get; set; }
}

/// <summary>A persisted key: RSA signing keys (rotated) and the symmetric key that encrypts codes and grants.</summary>
internal sealed class KeyEntity
{
    public required string Kid { get; set; }

    public required string Use { get; set; }

    public required string Material { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
