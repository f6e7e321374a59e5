using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Self.Protocol.Encoding;
using Self.Protocol.Identifiers;

namespace Self.Sdk.Instances;

/// <summary>
/// Conversation ids that every instance of one app can check without asking another (docs/app-devices.md): the
/// request's subject, type and expiry, a short tag of the instance that sent it and 12 random bytes, authenticated
/// with a key derived from the app secret that all instances hold. An instance that receives the answer to a request
/// another instance sent (devices answer every device of the app) reads from the cid what the request was, and makes
/// the checks of spec §9 against that, without a shared store. Nobody without the app secret can make one.
/// </summary>
/// <remarks>
/// <c>s1.</c> + b64url(version, type (bit 7: with a number), expiry as unix seconds, instance tag, random, masked
/// number?, subject) + <c>.</c> + b64url of the first 16 bytes of HMAC-SHA-256 over the payload: at most 90
/// characters, within the 128 of spec §1.
/// </remarks>
internal sealed class ConversationIds
{
    private const string Prefix = "s1.";
    private const byte Version = 1;
    private const byte FactsQuery = 1;
    private const byte WithNumber = 0x80;
    private const int TagSize = 4;
    private const int RandomSize = 12;
    private const int MacSize = 16;
    private const int FixedSize = 1 + 1 + 8 + TagSize + RandomSize;
    private static readonly byte[] NumberLabel = Encoding.ASCII.GetBytes("number");
    private static readonly byte[] KdfInfo = Encoding.ASCII.GetBytes("self-sdk conversation ids v1");

    private readonly byte[] _key;
    private readonly byte[] _tag;

    public ConversationIds(ReadOnlySpan<byte> appKeySeed, string appId, string deviceId)
    {
        _key = new byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, appKeySeed, _key, Encoding.ASCII.GetBytes(appId), KdfInfo);
        _tag = SHA256.HashData(Encoding.UTF8.GetBytes(deviceId))[..TagSize];
    }

    /// <summary>
    /// A fresh id for a request of <paramref name="requestType"/> to <paramref name="subject"/> (a Self ID or <c>-</c>);
    /// with number matching, the 2-digit <paramref name="number"/> goes in masked by a byte of the keyed PRF, so that
    /// the device (which sees the cid) learns nothing about it.
    /// </summary>
    public string Create(string subject, string requestType, DateTimeOffset expires, string? number = null)
    {
        if (requestType != Protocol.Messages.MessageTypes.FactsQueryRequest)
        {
            throw new ArgumentException($"Only {Protocol.Messages.MessageTypes.FactsQueryRequest} requests get signed conversation ids.", nameof(requestType));
        }

        if (number is not null && (number.Length != 2 || !char.IsAsciiDigit(number[0]) || !char.IsAsciiDigit(number[1])))
        {
            throw new ArgumentException("The number must be 2 digits.", nameof(number));
        }

        var sub = Encoding.ASCII.GetBytes(subject);
        var extra = number is null ? 0 : 1;
        var payload = new byte[FixedSize + extra + sub.Length];
        payload[0] = Version;
        payload[1] = number is null ? FactsQuery : (byte)(FactsQuery | WithNumber);
        BinaryPrimitives.WriteInt64BigEndian(payload.AsSpan(2), expires.ToUnixTimeSeconds());
        _tag.CopyTo(payload.AsSpan(10));
        RandomNumberGenerator.Fill(payload.AsSpan(10 + TagSize, RandomSize));
        if (number is not null)
        {
            payload[FixedSize] = (byte)(int.Parse(number, System.Globalization.CultureInfo.InvariantCulture) ^ Mask(payload.AsSpan(0, FixedSize)));
        }

        sub.CopyTo(payload.AsSpan(FixedSize + extra));
        return Prefix + Base64Codec.EncodeUrl(payload) + "." + Base64Codec.EncodeUrl(Mac(payload));
    }

    /// <summary>
    /// Reads an id made by any instance of this app; false for ids of other apps, ids chosen by the caller, and
    /// anything altered.
    /// </summary>
    public bool TryRead(string cid, out SignedConversation conversation)
    {
        conversation = default;
        if (!cid.StartsWith(Prefix, StringComparison.Ordinal) || cid.Length > SelfIds.MaxConversationIdLength)
        {
            return false;
        }

        var dot = cid.IndexOf('.', Prefix.Length);
        if (dot < 0)
        {
            return false;
        }

        byte[] payload, mac;
        try
        {
            payload = Base64Codec.Decode(cid[Prefix.Length..dot]);
            mac = Base64Codec.Decode(cid[(dot + 1)..]);
        }
        catch (FormatException)
        {
            return false;
        }

        if (payload.Length <= FixedSize || mac.Length != MacSize || !CryptographicOperations.FixedTimeEquals(mac, Mac(payload)))
        {
            return false;
        }

        if (payload[0] != Version || (payload[1] & ~WithNumber) != FactsQuery)
        {
            return false;
        }

        string? number = null;
        var subjectStart = FixedSize;
        if ((payload[1] & WithNumber) != 0)
        {
            var value = payload[FixedSize] ^ Mask(payload.AsSpan(0, FixedSize));
            if (value > 99 || payload.Length <= FixedSize + 1)
            {
                return false;
            }

            number = value.ToString("D2", System.Globalization.CultureInfo.InvariantCulture);
            subjectStart++;
        }

        var subject = Encoding.ASCII.GetString(payload.AsSpan(subjectStart));
        if (subject != "-" && !SelfIds.IsUserId(subject))
        {
            return false;
        }

        var expires = DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64BigEndian(payload.AsSpan(2)));
        var own = payload.AsSpan(10, TagSize).SequenceEqual(_tag);
        conversation = new SignedConversation(subject, Protocol.Messages.MessageTypes.FactsQueryRequest, expires, own, number);
        return true;
    }

    private byte[] Mac(ReadOnlySpan<byte> payload) => HMACSHA256.HashData(_key, payload)[..MacSize];

    // One byte of HMAC over a label and the id's fixed part (12 random bytes included): a fresh uniform pad per id.
    private byte Mask(ReadOnlySpan<byte> fixedPart)
    {
        Span<byte> input = stackalloc byte[NumberLabel.Length + FixedSize];
        NumberLabel.CopyTo(input);
        fixedPart.CopyTo(input[NumberLabel.Length..]);
        return HMACSHA256.HashData(_key, input)[0];
    }
}

/// <summary>What a signed conversation id says about its request.</summary>
/// <param name="SelfId">The user asked, or <c>-</c>.</param>
/// <param name="RequestType">The request's <c>typ</c>.</param>
/// <param name="Expires">The request's expiry (whole seconds).</param>
/// <param name="IsOwn">True when this instance (this device id) sent it.</param>
/// <param name="Number">The number the app shows (number matching, spec §9a), or null.</param>
internal readonly record struct SignedConversation(string SelfId, string RequestType, DateTimeOffset Expires, bool IsOwn, string? Number);
