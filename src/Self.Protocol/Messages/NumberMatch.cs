using System.Security.Cryptography;
using Self.Protocol.Encoding;

namespace Self.Protocol.Messages;

/// <summary>
/// The <c>number_match</c> claim of an authentication request (spec §9a): a salted SHA-256 of the 2-digit number that
/// the app shows on its own sign-in screen. The number itself never travels in the request; the device asks the
/// person to type it, checks it with <see cref="Matches"/>, and returns the typed digits in its signed answer.
/// </summary>
public sealed record NumberMatch
{
    /// <summary>How many digits the number has.</summary>
    public const int Digits = 2;

    private const int SaltLength = 16;

    /// <summary>b64url of 16 random bytes.</summary>
    public required string Salt { get; init; }

    /// <summary>b64url of SHA-256(salt ‖ ASCII digits).</summary>
    public required string Hash { get; init; }

    /// <summary>Picks a random 2-digit number and returns it with its claim.</summary>
    public static (string Number, NumberMatch Claim) Create()
    {
        var number = RandomNumberGenerator.GetInt32(0, 100).ToString("D2", System.Globalization.CultureInfo.InvariantCulture);
        return (number, ForNumber(number, RandomNumberGenerator.GetBytes(SaltLength)));
    }

    /// <summary>The claim for <paramref name="number"/> with the given salt (tests and vectors).</summary>
    /// <exception cref="ArgumentException">The number is not exactly two ASCII digits, or the salt is not 16 bytes.</exception>
    public static NumberMatch ForNumber(string number, ReadOnlySpan<byte> salt)
    {
        if (!IsWellFormed(number))
        {
            throw new ArgumentException($"A match number is exactly {Digits} digits.", nameof(number));
        }

        if (salt.Length != SaltLength)
        {
            throw new ArgumentException($"The salt is {SaltLength} bytes.", nameof(salt));
        }

        return new NumberMatch { Salt = Base64Codec.EncodeUrl(salt), Hash = Base64Codec.EncodeUrl(Digest(salt, number)) };
    }

    /// <summary>True when <paramref name="number"/> is exactly two ASCII digits.</summary>
    public static bool IsWellFormed(string? number) =>
        number is { Length: Digits } && number.All(char.IsAsciiDigit);

    /// <summary>
    /// True when the typed <paramref name="number"/> is the one the app chose (compared in constant time). False for
    /// anything malformed, including a claim whose salt or hash cannot be decoded.
    /// </summary>
    public bool Matches(string? number)
    {
        if (!IsWellFormed(number))
        {
            return false;
        }

        byte[] salt, expected;
        try
        {
            salt = Base64Codec.Decode(Salt);
            expected = Base64Codec.Decode(Hash);
        }
        catch (FormatException)
        {
            return false;
        }

        return expected.Length == SHA256.HashSizeInBytes && CryptographicOperations.FixedTimeEquals(expected, Digest(salt, number!));
    }

    /// <summary>True when the claim's salt and hash decode to 16 and 32 bytes: what a device checks before showing the request.</summary>
    public bool IsWellFormedClaim()
    {
        try
        {
            return Base64Codec.Decode(Salt).Length == SaltLength && Base64Codec.Decode(Hash).Length == SHA256.HashSizeInBytes;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static byte[] Digest(ReadOnlySpan<byte> salt, string number)
    {
        Span<byte> input = stackalloc byte[salt.Length + Digits];
        salt.CopyTo(input);
        System.Text.Encoding.ASCII.GetBytes(number, input[salt.Length..]);
        return SHA256.HashData(input);
    }
}
