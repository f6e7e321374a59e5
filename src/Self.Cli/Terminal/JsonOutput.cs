using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Self.Cli.Terminal;

/// <summary>Writes the one-line JSON documents that <c>--json</c> commands print for scripts.</summary>
internal static class JsonOutput
{
    public static void Write<T>(TextWriter output, T value, JsonTypeInfo<T> typeInfo)
    {
        output.WriteLine(JsonSerializer.Serialize(value, typeInfo));
        output.Flush();
    }
}

/// <summary><c>network serve --json</c>: where the network listens.</summary>
internal sealed record ServeOutput(
    string ApiUrl,
    string MessagingUrl,
    string Data,
    string AdminTokenFile,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? AdminToken);

/// <summary><c>app create --json</c>: the new app and its secrets (printed once).</summary>
internal sealed record AppOutput(string Id, string Name, string Secret, string RecoverySecret, string Server);

/// <summary><c>user create --json</c>: the new user.</summary>
internal sealed record UserOutput(string Id, string DeviceId, string RecoverySecret, string Server);

/// <summary><c>user connect --json</c>: the connection made.</summary>
internal sealed record ConnectOutput(string User, string App);

/// <summary><c>user listen --json</c>: one request and how it was answered.</summary>
internal sealed record AnswerOutput(
    string Cid,
    string AppId,
    string? AppName,
    string? Description,
    string? BindingMessage,
    DateTimeOffset ExpiresAt,
    string Answer);

/// <summary><c>auth request --async --json</c> and <c>auth qr --json</c>: the request sent, before its outcome.</summary>
internal sealed record SentOutput(
    string Cid,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Payload);

/// <summary><c>auth request --json</c> / <c>auth qr --json</c>: how the request ended.</summary>
internal sealed record OutcomeOutput(string Status, string SelfId, string? DeviceId, string Cid, string? Reason);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ServeOutput))]
[JsonSerializable(typeof(AppOutput))]
[JsonSerializable(typeof(UserOutput))]
[JsonSerializable(typeof(ConnectOutput))]
[JsonSerializable(typeof(AnswerOutput))]
[JsonSerializable(typeof(SentOutput))]
[JsonSerializable(typeof(OutcomeOutput))]
internal sealed partial class OutputJson : JsonSerializerContext;
