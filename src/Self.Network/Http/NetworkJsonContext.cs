using System.Text.Json.Serialization;

namespace Self.Network.Http;

/// <summary>The body of every REST error.</summary>
internal sealed record ErrorBody(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("code")] string Code);

/// <summary><c>{"id": …}</c>, the answer to a registration.</summary>
internal sealed record IdBody([property: JsonPropertyName("id")] string Id);

/// <summary>One one-time key on the wire.</summary>
internal sealed record OneTimeKeyBody(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("key")] string Key);

/// <summary>One permit in <c>GET …/connections</c>.</summary>
internal sealed record ConnectionBody(
    [property: JsonPropertyName("acl_source")] string Source,
    [property: JsonPropertyName("acl_exp")] string Expires);

/// <summary>An empty object, <c>{}</c>.</summary>
internal sealed record EmptyBody;

[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(IdBody))]
[JsonSerializable(typeof(OneTimeKeyBody))]
[JsonSerializable(typeof(List<ConnectionBody>))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(EmptyBody))]
internal sealed partial class NetworkJsonContext : JsonSerializerContext;
