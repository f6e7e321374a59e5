namespace Self.Protocol.Identifiers;

/// <summary>Validation of the identifiers of spec §1. Every check is ordinal and ASCII-only.</summary>
public static class SelfIds
{
    /// <summary>The device id an app uses unless told otherwise.</summary>
    public const string DefaultAppDevice = "1";

    /// <summary>The longest conversation id (<c>cid</c>) accepted.</summary>
    public const int MaxConversationIdLength = 128;

    /// <summary>The longest device id accepted.</summary>
    public const int MaxDeviceIdLength = 64;

    /// <summary>A user's Self ID: 10 or 11 decimal digits.</summary>
    public static bool IsUserId(string? value) =>
        value is { Length: 10 or 11 } && value.AsSpan().IndexOfAnyExceptInRange('0', '9') < 0;

    /// <summary>An app id: 32 lowercase hexadecimal characters.</summary>
    public static bool IsAppId(string? value)
    {
        if (value is not { Length: 32 })
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is not (>= '0' and <= '9' or >= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Either a user's Self ID or an app id.</summary>
    public static bool IsIdentityId(string? value) => IsUserId(value) || IsAppId(value);

    /// <summary>A device id: 1 to 64 characters of <c>[A-Za-z0-9_.-]</c> (so never <c>:</c>).</summary>
    public static bool IsDeviceId(string? value)
    {
        if (value is null || value.Length is 0 or > MaxDeviceIdLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is not (>= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '_' or '.' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A conversation id (<c>cid</c>): any non-empty string of at most 128 characters.</summary>
    public static bool IsConversationId(string? value) => value is { Length: > 0 and <= MaxConversationIdLength };

    /// <summary>A message id (<c>jti</c>): a UUID in its usual 8-4-4-4-12 hexadecimal form.</summary>
    public static bool IsMessageId(string? value) =>
        value is { Length: 36 } && Guid.TryParseExact(value, "D", out _);
}
