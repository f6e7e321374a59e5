namespace Self.Protocol.Frames;

/// <summary>
/// The <c>subtype</c> of a <see cref="MessageFrame"/> (spec §6), a hint for push notifications. The gen-1 SDKs send
/// <see cref="Unknown"/>; relays pass any value through unchanged, including ones not named here. The names are
/// those of the public <c>SelfMessaging</c> schema.
/// </summary>
public enum MsgSubType : ushort
{
    /// <summary>No subtype (what the SDKs send); the schema default, so never present in the bytes.</summary>
    Unknown = 0,

    /// <summary>An authentication request.</summary>
    AuthenticationReq = 1,

    /// <summary>An authentication response.</summary>
    AuthenticationResp = 2,

    /// <summary>An authentication response to a QR code.</summary>
    AuthenticationQRResp = 3,

    /// <summary>An authentication response to a deep link.</summary>
    AuthenticationDeepLinkResp = 4,

    /// <summary>A fact request.</summary>
    FactReq = 5,

    /// <summary>A fact response.</summary>
    FactResp = 6,

    /// <summary>A fact response to a QR code.</summary>
    FactQRResp = 7,

    /// <summary>A fact response to a deep link.</summary>
    FactDeepLinkResp = 8,

    /// <summary>A request for an email security code.</summary>
    EmailSecurityCodeReq = 9,

    /// <summary>A response carrying an email security code.</summary>
    EmailSecurityCodeResp = 10,

    /// <summary>A request for a phone security code.</summary>
    PhoneSecurityCodeReq = 11,

    /// <summary>A response carrying a phone security code.</summary>
    PhoneSecurityCodeResp = 12,

    /// <summary>A phone verification request.</summary>
    PhoneVerificationReq = 13,

    /// <summary>A phone verification response.</summary>
    PhoneVerificationResp = 14,

    /// <summary>An email verification request.</summary>
    EmailVerificationReq = 15,

    /// <summary>An email verification response.</summary>
    EmailVerificationResp = 16,

    /// <summary>A document verification request.</summary>
    DocumentVerificationReq = 17,

    /// <summary>A document verification response.</summary>
    DocumentVerificationResp = 18,
}
