using System.Text.Json.Serialization;

namespace Self.Messaging;

internal sealed record JwsWire(
    [property: JsonPropertyName("payload")] string Payload,
    [property: JsonPropertyName("protected")] string Protected,
    [property: JsonPropertyName("signature")] string Signature);

internal sealed record ErrorWire(
    [property: JsonPropertyName("message")] string? Message,
    [property: JsonPropertyName("code")] string? Code);

internal sealed record IdentityWire(
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("history")] List<JwsWire>? History);

internal sealed record AppWire(
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("image")] string? Image,
    [property: JsonPropertyName("paid_actions")] bool PaidActions,
    [property: JsonPropertyName("history")] List<JwsWire>? History);

internal sealed record PreKeyWire(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("key")] string Key);

internal sealed record RegisterIdentityWire(
    [property: JsonPropertyName("history")] List<JwsWire> History,
    [property: JsonPropertyName("id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Id);

internal sealed record CreateAppWire(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("history")] List<JwsWire> History);

internal sealed record IdWire([property: JsonPropertyName("id")] string? Id);

internal sealed record DeviceWire(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("platform")] string Platform);

internal sealed record ConnectionWire(
    [property: JsonPropertyName("acl_source")] string? Source,
    [property: JsonPropertyName("acl_exp")] string? Expires);

[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Default)]
[JsonSerializable(typeof(JwsWire))]
[JsonSerializable(typeof(ErrorWire))]
[JsonSerializable(typeof(IdentityWire))]
[JsonSerializable(typeof(AppWire))]
[JsonSerializable(typeof(PreKeyWire))]
[JsonSerializable(typeof(List<PreKeyWire>))]
[JsonSerializable(typeof(List<JwsWire>))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(List<ConnectionWire>))]
[JsonSerializable(typeof(RegisterIdentityWire))]
[JsonSerializable(typeof(CreateAppWire))]
[JsonSerializable(typeof(IdWire))]
[JsonSerializable(typeof(DeviceWire))]
internal sealed partial class RestJsonContext : JsonSerializerContext
{
}
