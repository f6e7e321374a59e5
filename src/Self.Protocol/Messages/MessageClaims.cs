using System.Text.Json;
using System.Text.Json.Serialization;

namespace Self.Protocol.Messages;

/// <summary>
/// The claims every message carries (spec §9): <c>typ</c>, <c>iss</c>, <c>sub</c>, <c>aud</c>, <c>iat</c>,
/// <c>exp</c> (RFC 3339 strings), <c>cid</c>, <c>jti</c>. Claims this library does not know are ignored on read.
/// </summary>
public record MessageClaims
{
    /// <summary>The message type, one of <see cref="MessageTypes"/>.</summary>
    [JsonPropertyOrder(-10)]
    public required string Typ { get; init; }

    /// <summary>The sender's Self ID or app id.</summary>
    [JsonPropertyOrder(-9)]
    public required string Iss { get; init; }

    /// <summary>The subject: the user asked (or <c>-</c> for QR codes and deep links), or the sender itself.</summary>
    [JsonPropertyOrder(-8)]
    public required string Sub { get; init; }

    /// <summary>The recipient's id (absent on permits).</summary>
    [JsonPropertyOrder(-7)]
    public string? Aud { get; init; }

    /// <summary>Issued at.</summary>
    [JsonPropertyOrder(-6)]
    [JsonConverter(typeof(Rfc3339JsonConverter))]
    public required DateTimeOffset Iat { get; init; }

    /// <summary>Expires at.</summary>
    [JsonPropertyOrder(-5)]
    [JsonConverter(typeof(Rfc3339JsonConverter))]
    public required DateTimeOffset Exp { get; init; }

    /// <summary>The conversation id that ties a response to its request.</summary>
    [JsonPropertyOrder(-4)]
    public string? Cid { get; init; }

    /// <summary>The message id, unique per message.</summary>
    [JsonPropertyOrder(-3)]
    public required string Jti { get; init; }
}

/// <summary>
/// An authentication request (spec §9): <c>identities.facts.query.req</c> with <c>auth: true</c> and
/// <c>facts: []</c>, or the legacy <c>identities.authenticate.req</c>.
/// </summary>
public sealed record AuthenticationRequestClaims : MessageClaims
{
    private readonly IReadOnlyList<JsonElement> _facts = [];

    /// <summary>The facts asked for; empty for authentication.</summary>
    public IReadOnlyList<JsonElement> Facts { get => _facts; init => _facts = value ?? []; }

    /// <summary><c>true</c> on a current-form authentication request; absent on legacy ones.</summary>
    public bool? Auth { get; init; }

    /// <summary>The device id of the app that sends the request.</summary>
    public string? DeviceId { get; init; }

    /// <summary>Optional text the device shows.</summary>
    public string? Description { get; init; }

    /// <summary>[ours] Up to 64 printable characters shown by both the device and the app, for the person to match.</summary>
    public string? BindingMessage { get; init; }

    /// <summary>[ours] The app's display name.</summary>
    public string? AppName { get; init; }

    /// <summary>[ours] Number matching (spec §9a): the salted hash of the number the app shows; null when not asked.</summary>
    public NumberMatch? NumberMatch { get; init; }
}

/// <summary>
/// An authentication response (spec §9). <c>facts</c> is always written, even empty: the TypeScript SDK drops a
/// response without it.
/// </summary>
public sealed record AuthenticationResponseClaims : MessageClaims
{
    private readonly IReadOnlyList<JsonElement> _facts = [];

    /// <summary><c>accepted</c>, <c>rejected</c> or <c>unauthorized</c> (see <see cref="ResponseStatuses"/>).</summary>
    public required string Status { get; init; }

    /// <summary>Always <c>true</c> for authentication.</summary>
    public bool Auth { get; init; } = true;

    /// <summary>The facts answered; empty for authentication, and never left out.</summary>
    public IReadOnlyList<JsonElement> Facts { get => _facts; init => _facts = value ?? []; }

    /// <summary>The id of the answering device.</summary>
    public string? DeviceId { get; init; }

    /// <summary>[ours] The digits the person typed, answering a request with <c>number_match</c> (spec §9a).</summary>
    public string? Number { get; init; }
}

/// <summary>An app's invitation to connect, <c>identities.connections.req</c> (spec §7).</summary>
public sealed record ConnectionRequestClaims : MessageClaims
{
    /// <summary>The device asks the person before connecting.</summary>
    public bool RequireConfirmation { get; init; } = true;

    /// <summary>The device id of the app that sends the invitation.</summary>
    public string? DeviceId { get; init; }

    /// <summary>[ours] The app's display name.</summary>
    public string? AppName { get; init; }

    /// <summary>Optional text the device shows.</summary>
    public string? Description { get; init; }
}

/// <summary>A device's answer to an invitation, <c>identities.connections.resp</c>.</summary>
public sealed record ConnectionResponseClaims : MessageClaims
{
    /// <summary><c>accepted</c> or <c>rejected</c>.</summary>
    public required string Status { get; init; }

    /// <summary>The id of the answering device.</summary>
    public string? DeviceId { get; init; }
}

/// <summary>A permit (<c>acl.permit</c>) or its withdrawal (<c>acl.revoke</c>), signed by the user's device (spec §7).</summary>
public sealed record AclClaims : MessageClaims
{
    /// <summary>The app id (or <c>*</c>) permitted to send to the user.</summary>
    public required string AclSource { get; init; }

    /// <summary>When the permit lapses.</summary>
    [JsonConverter(typeof(Rfc3339JsonConverter))]
    public required DateTimeOffset AclExp { get; init; }
}
