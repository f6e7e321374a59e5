using System.Globalization;
using Microsoft.AspNetCore.Authentication;
using Self.Sdk.Authentication;

namespace Self.AspNetCore;

/// <summary>
/// The sign-in in progress, kept in the data-protected state the page carries (no server session), so that any
/// instance sharing the data-protection keys can continue it. Items live in <see cref="AuthenticationProperties"/>
/// beside the return URL and the correlation id, and are removed before the ticket is issued.
/// </summary>
internal sealed class SignInState(AuthenticationProperties properties)
{
    private const string Prefix = ".self.";
    private const string FlowKey = Prefix + "flow";
    private const string CidKey = Prefix + "cid";
    private const string SubKey = Prefix + "sub";
    private const string NumberKey = Prefix + "number";
    private const string ExpiresKey = Prefix + "expires";
    private const string DeadlineKey = Prefix + "deadline";
    private const string OutcomeKey = Prefix + "outcome";
    private const string AnswerSubKey = Prefix + "answer_sub";
    private const string AnswerDeviceKey = Prefix + "answer_device";

    public const string Start = "start";
    public const string Push = "push";
    public const string Qr = "qr";

    public AuthenticationProperties Properties { get; } = properties;

    public string? Flow => Properties.Items.TryGetValue(FlowKey, out var v) ? v : null;

    public string? ConversationId => Get(CidKey);

    public string? SelfId => Get(SubKey);

    public string? Number => Get(NumberKey);

    public DateTimeOffset? ExpiresAt => GetTime(ExpiresKey);

    /// <summary>When the page itself (and its correlation cookie) runs out; a later post starts afresh.</summary>
    public DateTimeOffset? Deadline => GetTime(DeadlineKey);

    public bool IsRequest => Flow is Push or Qr && ConversationId is not null && ExpiresAt is not null;

    /// <summary>A new sign-in: nothing asked yet.</summary>
    public static SignInState NewStart(AuthenticationProperties properties, DateTimeOffset deadline)
    {
        var state = new SignInState(properties);
        state.Clear();
        state.Set(FlowKey, Start);
        state.Set(DeadlineKey, deadline.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        return state;
    }

    /// <summary>The same sign-in, now waiting for request <paramref name="cid"/>.</summary>
    public SignInState WithRequest(string flow, string cid, string? selfId, string? number, DateTimeOffset expires)
    {
        var next = new SignInState(Properties.Clone());
        next.Set(FlowKey, flow);
        next.Set(CidKey, cid);
        next.Set(SubKey, selfId);
        next.Set(NumberKey, number);
        next.Set(ExpiresKey, expires.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        return next;
    }

    /// <summary>
    /// The outcome as the instance that received the device's answer saw it, carried to the callback inside the
    /// protected state, so that the callback can finish on any instance that shares the data-protection keys.
    /// </summary>
    public AuthenticationResponse? Outcome =>
        Get(OutcomeKey) is { } outcome && Enum.TryParse<AuthenticationStatus>(outcome, ignoreCase: false, out var status) && ConversationId is { } cid
            ? new AuthenticationResponse(status, Get(AnswerSubKey) ?? SelfId ?? "-", Get(AnswerDeviceKey), cid)
            : null;

    /// <summary>The same sign-in with its outcome, for the callback URL.</summary>
    public SignInState WithOutcome(AuthenticationResponse response)
    {
        var next = new SignInState(Properties.Clone());
        next.Set(OutcomeKey, response.Status.ToString());
        next.Set(AnswerSubKey, response.SelfId);
        next.Set(AnswerDeviceKey, response.DeviceId);
        return next;
    }

    /// <summary>Removes every item of this handler, so that none reaches the sign-in cookie.</summary>
    public void Clear()
    {
        foreach (var key in Properties.Items.Keys.Where(k => k.StartsWith(Prefix, StringComparison.Ordinal)).ToList())
        {
            Properties.Items.Remove(key);
        }
    }

    private string? Get(string key) => Properties.Items.TryGetValue(key, out var v) && !string.IsNullOrEmpty(v) ? v : null;

    private DateTimeOffset? GetTime(string key) =>
        Get(key) is { } v && long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : null;

    private void Set(string key, string? value)
    {
        if (value is null)
        {
            Properties.Items.Remove(key);
        }
        else
        {
            Properties.Items[key] = value;
        }
    }
}
