using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Self.Cli.Terminal;

/// <summary>Writes the one-line JSON documents that <c>--json</c> commands print for scripts.</summary>
internal static class JsonOutput
{
    // Readable: "kid:seed" and '+' stay as they are, never \u0022 or \u002B (the output goes to scripts, not to HTML).
    private static readonly JsonSerializerOptions Readable = new(OutputJson.Default.Options)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        TypeInfoResolver = OutputJson.Default,
    };

    public static void Write<T>(TextWriter output, T value, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        output.WriteLine(JsonSerializer.Serialize(value, (JsonTypeInfo<T>)Readable.GetTypeInfo(typeInfo.Type)));
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

/// <summary><c>demo --web --json</c>: where the network, the site and the authenticator's one-time login link are.</summary>
internal sealed record DemoWebOutput(string Network, string Site, string AuthenticatorLogin, string AppId);

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
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Payload,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Number = null);

/// <summary><c>user scan --json</c>: what was scanned (a request or an invitation) and the answer.</summary>
internal sealed record ScanOutput(string Kind, string Cid, string AppId, string? AppName, string Answer);

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
[JsonSerializable(typeof(ScanOutput))]
[JsonSerializable(typeof(DemoWebOutput))]
internal sealed partial class OutputJson : JsonSerializerContext;
