namespace Self.Crypto.Olm;

/// <summary>The two kinds of Olm message; the numbers are the envelope's <c>mtype</c> and libolm's.</summary>
public enum OlmMessageType
{
    /// <summary>A pre-key message: sent until the first reply arrives; it can start a session on the receiver.</summary>
    PreKey = 0,

    /// <summary>A normal message on an established session.</summary>
    Normal = 1,
}

/// <summary>One encrypted Olm message: its type and its body in standard base64 without padding.</summary>
/// <param name="Type">Pre-key (0) or normal (1).</param>
/// <param name="Body">The encoded message, standard base64 without padding (as libolm writes it).</param>
public readonly record struct OlmMessage(OlmMessageType Type, string Body);

/// <summary>An account's identity keys, as Olm reports them (standard base64 without padding).</summary>
/// <param name="Curve25519">The Curve25519 identity key, derived from the Ed25519 key.</param>
/// <param name="Ed25519">The Ed25519 key: the device's signing key.</param>
public sealed record OlmIdentityKeys(string Curve25519, string Ed25519);
