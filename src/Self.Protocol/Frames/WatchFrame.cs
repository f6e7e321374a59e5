namespace Self.Protocol.Frames;

/// <summary>Asks to watch (or stop watching) another address's presence (spec §6, table <c>Watch</c>).</summary>
/// <param name="Id">The frame id.</param>
/// <param name="Recipient">The address to watch, <c>&lt;id&gt;:&lt;device&gt;</c>.</param>
/// <param name="Watch"><see langword="true"/> to start watching, <see langword="false"/> to stop.</param>
public sealed record WatchFrame(string Id, string Recipient, bool Watch) : Frame(Id);
