namespace Self.Protocol.Frames;

/// <summary>The presence of a watched address (spec §6, table <c>Status</c>).</summary>
/// <param name="Id">The frame id.</param>
/// <param name="Recipient">The watched address, <c>&lt;id&gt;:&lt;device&gt;</c>.</param>
/// <param name="Online">Whether the address has a live connection.</param>
/// <param name="LastSeen">When the address was last seen, as the server wrote it; 0 when unknown.</param>
public sealed record StatusFrame(string Id, string Recipient, bool Online, long LastSeen = 0) : Frame(Id);
