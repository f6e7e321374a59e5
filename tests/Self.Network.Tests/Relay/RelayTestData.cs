using Self.Network.Tests.Infrastructure;
using Self.Protocol.Frames;

namespace Self.Network.Tests.Relay;

internal static class RelayTestData
{
    /// <summary>A message as a client writes it: metadata zero, opaque ciphertext, optional type and priority.</summary>
    public static MessageFrame Message(string sender, string recipient, string? id = null, string text = "ciphertext", uint priority = 1) =>
        new(id ?? Guid.NewGuid().ToString(), MsgSubType.Unknown, sender, recipient, 0, 0,
            System.Text.Encoding.UTF8.GetBytes(text), priority, "identities.facts.query.req"u8.ToArray());

    public static MessageFrame Message(TestIdentity from, TestIdentity to, string? id = null, string text = "ciphertext") =>
        Message(from.Address, to.Address, id, text);

    public static string Text(MessageFrame frame) => System.Text.Encoding.UTF8.GetString(frame.Ciphertext.Span);
}
