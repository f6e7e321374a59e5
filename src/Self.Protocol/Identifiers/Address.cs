using System.Diagnostics.CodeAnalysis;

namespace Self.Protocol.Identifiers;

/// <summary>An inbox address, <c>&lt;selfid&gt;:&lt;device id&gt;</c> (spec §1).</summary>
/// <param name="Id">The user's Self ID or the app id.</param>
/// <param name="Device">The device id.</param>
public readonly record struct Address(string Id, string Device)
{
    /// <summary>Parses <c>id:device</c>, checking both parts.</summary>
    /// <exception cref="FormatException">The text is not a valid address.</exception>
    public static Address Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var address)
            ? address
            : throw new FormatException("An address is '<self id or app id>:<device id>'.");
    }

    /// <summary>Parses <c>id:device</c>; false when either part is not valid.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out Address address)
    {
        address = default;
        if (text is null)
        {
            return false;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return false;
        }

        var id = text[..colon];
        var device = text[(colon + 1)..];
        if (!SelfIds.IsIdentityId(id) || !SelfIds.IsDeviceId(device))
        {
            return false;
        }

        address = new Address(id, device);
        return true;
    }

    /// <summary>The wire form, <c>id:device</c>.</summary>
    public override string ToString() => Id + ":" + Device;
}
