using System.Text.Json.Serialization;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;

namespace Self.Protocol.Rest;

// The JSON bodies of the REST API (spec §5), one set for the client (Self.Messaging's SelfRestClient) and the server
// (Self.Network's RestApi). Member names and order are the wire format: the conformance vectors and the TypeScript
// captures check them. The server reads outside JSON through StrictJson first (repeated members, invalid UTF-8 and lone
// surrogates refused) and only then binds it to these records.

/// <summary>One flattened JWS as a history operation inside a body: <c>{"payload","protected","signature"}</c>.</summary>
internal sealed record JwsBody(
    [property: JsonPropertyName("payload")] string? Payload,
    [property: JsonPropertyName("protected")] string? Protected,
    [property: JsonPropertyName("signature")] string? Signature)
{
    /// <summary>The body of <paramref name="jws"/>; serialized, the same bytes as <see cref="FlattenedJws.ToJson"/>.</summary>
    public static JwsBody From(FlattenedJws jws) => new(jws.Payload, jws.Protected, jws.Signature);

    /// <summary>The bodies of a history, oldest first.</summary>
    public static List<JwsBody> From(IEnumerable<FlattenedJws> history) => history.Select(From).ToList();

    /// <summary>The operations of a history read from a body, or the refusal of the first one that is not a flattened JWS.</summary>
    /// <exception cref="HistoryValidationException">An operation is null, lacks a member or has a header that does not parse.</exception>
    public static List<FlattenedJws> ToOperations(IReadOnlyList<JwsBody?> history)
    {
        var operations = new List<FlattenedJws>(history.Count);
        for (var position = 0; position < history.Count; position++)
        {
            operations.Add(ToOperation(history[position], position));
        }

        return operations;
    }

    private static FlattenedJws ToOperation(JwsBody? body, int position)
    {
        try
        {
            return body is { Payload: { } payload, Protected: { } header, Signature: { } signature }
                ? new FlattenedJws(payload, header, signature)
                : throw new JwsFormatException("A flattened JWS needs the string members 'payload', 'protected' and 'signature'.");
        }
        catch (JwsFormatException ex)
        {
            throw new HistoryValidationException(HistoryRejection.MalformedOperation, position, $"Operation {position} is not a flattened JWS: {ex.Message}", ex);
        }
    }
}

/// <summary>The body of every REST error: <c>{"message","code"}</c>.</summary>
internal sealed record ErrorBody(
    [property: JsonPropertyName("message")] string? Message,
    [property: JsonPropertyName("code")] string? Code);

/// <summary><c>{"id": …}</c>, the answer to a registration.</summary>
internal sealed record IdBody([property: JsonPropertyName("id")] string? Id);

/// <summary>
/// <c>GET /v1/identities/{id}</c> (and <c>/v1/apps/{id}</c>): an individual has id, type and history; an app also has
/// its name, its image when it has one, and <c>paid_actions</c> (always true here; gen-1 SDKs check it).
/// </summary>
internal sealed record IdentityBody(
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name,
    [property: JsonPropertyName("image"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Image,
    [property: JsonPropertyName("paid_actions"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? PaidActions,
    [property: JsonPropertyName("history")] List<JwsBody>? History);

/// <summary><c>POST /v1/identities</c>: the root operation and, optionally, the wanted Self ID.</summary>
internal sealed record RegisterIdentityBody(
    [property: JsonPropertyName("history")] List<JwsBody>? History,
    [property: JsonPropertyName("id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Id);

/// <summary><c>POST /v1/apps</c> (operator): the app's display name, an optional image and its root operation.</summary>
internal sealed record CreateAppBody(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("history")] List<JwsBody>? History,
    [property: JsonPropertyName("image"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Image = null);

/// <summary><c>POST …/devices</c>: a device whose key the history already holds.</summary>
internal sealed record DeviceBody(
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("platform")] string? Platform);

/// <summary>One permit in <c>GET …/connections</c>: the permitted source and its <c>acl_exp</c> (RFC 3339).</summary>
internal sealed record ConnectionBody(
    [property: JsonPropertyName("acl_source")] string? Source,
    [property: JsonPropertyName("acl_exp")] string? Expires);
