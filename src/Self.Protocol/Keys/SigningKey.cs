using System.Security.Cryptography;
using Geralt;
using Self.Protocol.Encoding;

namespace Self.Protocol.Keys;

/// <summary>
/// An Ed25519 signing key and its key id (<c>kid</c>), the name under which its public half appears in a key
/// history. The secret form is <c>kid:seed</c> with the 32-byte seed in standard base64 (spec §2).
/// </summary>
public sealed class SigningKey
{
    /// <summary>Length of an Ed25519 seed.</summary>
    public const int SeedSize = Ed25519.SeedSize;

    /// <summary>The kid used when a secret key names none.</summary>
    public const string DefaultKid = "1";

    private readonly byte[] _seed;
    private readonly byte[] _privateKey;
    private readonly byte[] _publicKey;

    private SigningKey(string kid, ReadOnlySpan<byte> seed)
    {
        Kid = kid;
        _seed = seed.ToArray();
        _publicKey = new byte[Ed25519.PublicKeySize];
        _privateKey = new byte[Ed25519.PrivateKeySize];
        Ed25519.GenerateKeyPair(_publicKey, _privateKey, _seed);
    }

    /// <summary>The key id.</summary>
    public string Kid { get; }

    /// <summary>The 32-byte public key (a copy).</summary>
    public byte[] PublicKey => (byte[])_publicKey.Clone();

    /// <summary>The public key as b64url, the form used inside key histories.</summary>
    public string PublicKeyEncoded => Base64Codec.EncodeUrl(_publicKey);

    /// <summary>The 32-byte secret seed (a copy). Treat it as a secret: never log it.</summary>
    public byte[] Seed => (byte[])_seed.Clone();

    /// <summary>Generates a fresh key with the given kid.</summary>
    public static SigningKey Generate(string kid)
    {
        ValidateKid(kid);
        Span<byte> seed = stackalloc byte[SeedSize];
        RandomNumberGenerator.Fill(seed);
        try
        {
            return new SigningKey(kid, seed);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    /// <summary>
    /// Generates a fresh key whose kid is the lowercase hex SHA-256 of its public key, so that kids never collide.
    /// </summary>
    public static SigningKey Generate()
    {
        var key = Generate(DefaultKid);
        return new SigningKey(DeriveKid(key._publicKey), key._seed);
    }

    /// <summary>The kid convention for generated keys: lowercase hex SHA-256 of the raw public key.</summary>
    public static string DeriveKid(ReadOnlySpan<byte> publicKey) =>
        Convert.ToHexStringLower(SHA256.HashData(publicKey));

    /// <summary>Rebuilds a key from its 32-byte seed.</summary>
    /// <exception cref="KeyFormatException">The seed is not 32 bytes or the kid is empty.</exception>
    public static SigningKey FromSeed(string kid, ReadOnlySpan<byte> seed)
    {
        ValidateKid(kid);
        if (seed.Length != SeedSize)
        {
            throw new KeyFormatException($"An Ed25519 seed is {SeedSize} bytes; got {seed.Length}.");
        }

        return new SigningKey(kid, seed);
    }

    /// <summary>
    /// Reads a secret key written <c>kid:seed</c>. A leading <c>xxx_</c> prefix (as in <c>sk_1:…</c>) is dropped;
    /// with no <c>:</c> the kid is <c>"1"</c>. The seed may be standard base64 or base64url, padded or not.
    /// </summary>
    /// <exception cref="KeyFormatException">The text is not a secret key; the message never echoes it.</exception>
    public static SigningKey ParseSecret(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var text = secret.Trim();
        string kid;
        string seedText;
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            kid = StripPrefix(text[..colon]);
            seedText = text[(colon + 1)..];
        }
        else
        {
            kid = DefaultKid;
            seedText = text;
            var underscore = text.LastIndexOf('_');
            if (underscore > 0 && !IsSeed(text) && IsSeed(text[(underscore + 1)..]))
            {
                seedText = text[(underscore + 1)..];
            }
        }

        if (kid.Length == 0)
        {
            throw new KeyFormatException("The secret key names an empty key id before ':'.");
        }

        if (!Base64Codec.TryDecode(seedText, out var seed))
        {
            throw new KeyFormatException("The secret key's seed is not base64.");
        }

        try
        {
            return FromSeed(kid, seed);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    /// <summary>The secret form, <c>kid:seed</c> with the seed in standard base64 without padding.</summary>
    public string ToSecret() => Kid + ":" + Base64Codec.EncodeStandard(_seed);

    /// <summary>Signs <paramref name="data"/>; the result is the 64-byte Ed25519 signature.</summary>
    public byte[] Sign(ReadOnlySpan<byte> data)
    {
        var signature = new byte[Ed25519.SignatureSize];
        Ed25519.Sign(signature, data, _privateKey);
        return signature;
    }

    /// <summary>Names the key by kid and public key, never by its secret.</summary>
    public override string ToString() => $"SigningKey(kid={Kid}, public={PublicKeyEncoded})";

    private static void ValidateKid(string kid)
    {
        ArgumentNullException.ThrowIfNull(kid);
        if (kid.Length == 0)
        {
            throw new KeyFormatException("A key id must not be empty.");
        }
    }

    private static string StripPrefix(string kid)
    {
        var underscore = kid.LastIndexOf('_');
        return underscore >= 0 ? kid[(underscore + 1)..] : kid;
    }

    private static bool IsSeed(string text) => Base64Codec.TryDecode(text, out var bytes) && bytes.Length == SeedSize;
}
