namespace Self.Protocol.KeyHistory;

/// <summary>Why a key history, or one operation appended to it, was refused (spec §3).</summary>
public enum HistoryRejection
{
    /// <summary>The history holds no operation at all.</summary>
    EmptyHistory,

    /// <summary>The operation is not a flattened JWS whose payload is an operation object.</summary>
    MalformedOperation,

    /// <summary>An action lacks a field, names an unknown type or action, or carries a bad key or time.</summary>
    InvalidAction,

    /// <summary>The operation's <c>version</c> is not <c>1.0.0</c>.</summary>
    InvalidVersion,

    /// <summary>The operation has no actions.</summary>
    EmptyActions,

    /// <summary>The operation's <c>sequence</c> is not the next number.</summary>
    SequenceOutOfOrder,

    /// <summary>The operation's <c>previous</c> is not the previous operation's signature (or not <c>-</c> at the root).</summary>
    PreviousSignatureMismatch,

    /// <summary>The operation's <c>timestamp</c> is not after the previous operation's.</summary>
    TimestampNotIncreasing,

    /// <summary>The signing key does not exist (or, at the root, is not a key the root adds).</summary>
    UnknownSigningKey,

    /// <summary>The signing key was already revoked at the operation's timestamp.</summary>
    SigningKeyRevoked,

    /// <summary>The operation's own revocations leave its signing key revoked before the operation's timestamp.</summary>
    SigningKeyRevokedByOperation,

    /// <summary>The signature does not verify with the signing key, or <c>alg</c> is not EdDSA.</summary>
    InvalidSignature,

    /// <summary>A key id is added a second time.</summary>
    DuplicateKeyId,

    /// <summary>An action revokes a key id that does not exist.</summary>
    UnknownKey,

    /// <summary>An action revokes a key that is already revoked.</summary>
    KeyAlreadyRevoked,

    /// <summary>The root operation revokes a key.</summary>
    RootRevokesKey,

    /// <summary>An operation signed by the recovery key does not revoke that recovery key.</summary>
    RecoveryWithoutRevocation,

    /// <summary>Afterwards, a device has more than one active key.</summary>
    MultipleActiveDeviceKeys,

    /// <summary>Afterwards, more than one recovery key is active.</summary>
    MultipleActiveRecoveryKeys,

    /// <summary>Afterwards, no key is active.</summary>
    NoActiveKeys,

    /// <summary>Afterwards, no recovery key is active.</summary>
    NoActiveRecoveryKey,
}

/// <summary>A key history or an appended operation breaks a rule of spec §3; <see cref="Reason"/> says which.</summary>
public sealed class HistoryValidationException : SelfException
{
    /// <summary>Creates the exception.</summary>
    public HistoryValidationException(HistoryRejection reason, int? sequence, string message, Exception? innerException = null)
        : base(CodeOf(reason), message, innerException)
    {
        Reason = reason;
        Sequence = sequence;
    }

    /// <summary>The rule that was broken.</summary>
    public HistoryRejection Reason { get; }

    /// <summary>The index of the refused operation in the history, when one operation is at fault.</summary>
    public int? Sequence { get; }

    /// <summary>The stable code of a reason, e.g. <c>history_duplicate_key_id</c>.</summary>
    public static string CodeOf(HistoryRejection reason) => reason switch
    {
        HistoryRejection.EmptyHistory => "history_empty",
        HistoryRejection.MalformedOperation => "history_malformed_operation",
        HistoryRejection.InvalidAction => "history_invalid_action",
        HistoryRejection.InvalidVersion => "history_invalid_version",
        HistoryRejection.EmptyActions => "history_empty_actions",
        HistoryRejection.SequenceOutOfOrder => "history_sequence_out_of_order",
        HistoryRejection.PreviousSignatureMismatch => "history_previous_mismatch",
        HistoryRejection.TimestampNotIncreasing => "history_timestamp_not_increasing",
        HistoryRejection.UnknownSigningKey => "history_unknown_signing_key",
        HistoryRejection.SigningKeyRevoked => "history_signing_key_revoked",
        HistoryRejection.SigningKeyRevokedByOperation => "history_signing_key_revoked_by_operation",
        HistoryRejection.InvalidSignature => "history_invalid_signature",
        HistoryRejection.DuplicateKeyId => "history_duplicate_key_id",
        HistoryRejection.UnknownKey => "history_unknown_key",
        HistoryRejection.KeyAlreadyRevoked => "history_key_already_revoked",
        HistoryRejection.RootRevokesKey => "history_root_revokes_key",
        HistoryRejection.RecoveryWithoutRevocation => "history_recovery_without_revocation",
        HistoryRejection.MultipleActiveDeviceKeys => "history_multiple_device_keys",
        HistoryRejection.MultipleActiveRecoveryKeys => "history_multiple_recovery_keys",
        HistoryRejection.NoActiveKeys => "history_no_active_keys",
        HistoryRejection.NoActiveRecoveryKey => "history_no_active_recovery_key",
        _ => "history_invalid",
    };
}
