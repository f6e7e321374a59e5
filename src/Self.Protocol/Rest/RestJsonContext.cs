using System.Text.Json.Serialization;
using Self.Protocol.Keys;

namespace Self.Protocol.Rest;

/// <summary>The one source-generated JSON context of the REST bodies, used by the client and the server.</summary>
[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Default)]
[JsonSerializable(typeof(JwsBody))]
[JsonSerializable(typeof(List<JwsBody>))]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(IdBody))]
[JsonSerializable(typeof(IdentityBody))]
[JsonSerializable(typeof(RegisterIdentityBody))]
[JsonSerializable(typeof(CreateAppBody))]
[JsonSerializable(typeof(DeviceBody))]
[JsonSerializable(typeof(OneTimeKey))]
[JsonSerializable(typeof(List<OneTimeKey>))]
[JsonSerializable(typeof(List<ConnectionBody>))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class RestJsonContext : JsonSerializerContext;
