using System.Diagnostics;

namespace Self.Device.Diagnostics;

/// <summary>
/// The device library's spans, on the <see cref="ActivitySource"/> named <see cref="Name"/> (System.Diagnostics only).
/// One span per answer sent, <c>self.device.answer</c> (kind Producer), tagged <c>self.conversation.id</c> — the same id
/// the app's <c>self.sdk.authentication</c> span carries, so the two can be joined — and <c>self.answer</c>.
/// </summary>
public static class DeviceTelemetry
{
    /// <summary>The name of the device library's activity source.</summary>
    public const string Name = "Self.Device";

    /// <summary>The device library's spans.</summary>
    public static readonly ActivitySource ActivitySource = new(Name, typeof(DeviceTelemetry).Assembly.GetName().Version?.ToString());
}
