using System.Text.Json.Serialization;

namespace Self.Protocol.Messages;

/// <summary>Source-generated JSON metadata for the message claims: snake_case names, nulls left out.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true,
    MaxDepth = 32)]
[JsonSerializable(typeof(MessageClaims))]
[JsonSerializable(typeof(AuthenticationRequestClaims))]
[JsonSerializable(typeof(AuthenticationResponseClaims))]
[JsonSerializable(typeof(ConnectionRequestClaims))]
[JsonSerializable(typeof(ConnectionResponseClaims))]
[JsonSerializable(typeof(AclClaims))]
[JsonSerializable(typeof(NumberMatch))]
internal sealed partial class MessageJsonContext : JsonSerializerContext;
