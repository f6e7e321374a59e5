namespace Self.Crypto;

/// <summary>The stable <c>ErrorCode</c> values of the exceptions this library throws.</summary>
public static class CryptoErrorCodes
{
    /// <summary>Input that should be base64 is not.</summary>
    public const string InvalidBase64 = "invalid_base64";

    /// <summary>An Olm message could not be decoded (missing field, wrong key length, truncated).</summary>
    public const string BadMessageFormat = "bad_message_format";

    /// <summary>An Olm message has a protocol version other than 3.</summary>
    public const string BadMessageVersion = "bad_message_version";

    /// <summary>An Olm message failed authentication: it was altered, or is not for this session.</summary>
    public const string BadMessageMac = "bad_message_mac";

    /// <summary>
    /// The message key for an old message is gone: the message was already decrypted (a replay) or it fell
    /// out of the bounded store of skipped keys.
    /// </summary>
    public const string UnknownMessageKey = "unknown_message_key";

    /// <summary>A message skips more of its chain than the session is willing to compute.</summary>
    public const string MessageGapTooLarge = "message_gap_too_large";

    /// <summary>A pre-key message names a one-time key this account does not hold (used already, or never ours).</summary>
    public const string UnknownOneTimeKey = "unknown_one_time_key";

    /// <summary>A pre-key message comes from a different identity key than the caller expected.</summary>
    public const string IdentityKeyMismatch = "identity_key_mismatch";

    /// <summary>A Curve25519 or Ed25519 key has the wrong length or is not a usable point.</summary>
    public const string BadKey = "bad_key";

    /// <summary>Exported account or session bytes are damaged, truncated or of an unknown version.</summary>
    public const string BadExport = "bad_export";

    /// <summary>A libolm pickle could not be read (wrong pickle key, damaged, or an unsupported version).</summary>
    public const string BadPickle = "bad_pickle";

    /// <summary>The envelope is not the JSON the protocol specifies.</summary>
    public const string BadEnvelope = "bad_envelope";

    /// <summary>The envelope holds no entry for this device.</summary>
    public const string NoEntryForRecipient = "no_entry_for_recipient";

    /// <summary>The envelope's body did not decrypt with the key and nonce from our entry.</summary>
    public const string BadEnvelopeBody = "bad_envelope_body";

    /// <summary>A stored blob is not in the at-rest format (too short, wrong magic).</summary>
    public const string AtRestBadFormat = "at_rest_bad_format";

    /// <summary>A stored blob was written by a newer, unknown version of the at-rest format.</summary>
    public const string AtRestUnsupportedVersion = "at_rest_unsupported_version";

    /// <summary>A stored blob did not decrypt: wrong storage key, wrong context, or tampered bytes.</summary>
    public const string AtRestDecryptionFailed = "at_rest_decryption_failed";
}
