using System.Text.Json;
using Self.Testing;

namespace Self.Protocol.Tests.Frames;

/// <summary>The frames captured from the official TypeScript SDK (shared/conformance/ts-sdk).</summary>
internal static class TsSdkFrames
{
    public static byte[] Bytes(string name) => Convert.FromBase64String(Conformance.ReadText("ts-sdk", name + ".b64").Trim());

    public static JsonElement Json(string name)
    {
        using var document = JsonDocument.Parse(Conformance.ReadText("ts-sdk", name + ".json"));
        return document.RootElement.Clone();
    }

    public static byte[] RawFile(string fileName) => File.ReadAllBytes(Conformance.Path("ts-sdk", fileName));

    /// <summary>A 64-bit value the capture wrote as flatbuffers-js <c>{low, high}</c> (two signed 32-bit halves).</summary>
    public static long Long(JsonElement value) =>
        ((long)value.GetProperty("high").GetInt32() << 32) | (uint)value.GetProperty("low").GetInt32();

    public static readonly string[] All =
    [
        "frame-auth", "frame-auth-restart", "frame-ack-sent-by-capture-server", "frame-message-request", "frame-message-response",
    ];
}
