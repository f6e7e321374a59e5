using System.Text;

namespace Self.Protocol.Frames;

/// <summary>The first frame a client sends: who it is and where its inbox should resume (spec §6, table <c>Auth</c>).</summary>
/// <param name="Id">A fresh id; the server's ACK or ERR echoes it.</param>
/// <param name="Token">The auth token (spec §4) of the identity.</param>
/// <param name="Device">The device id the client connects as.</param>
/// <param name="Offset">The last inbox offset the client has processed, 0 at first.</param>
public sealed record AuthFrame(string Id, string Token, string Device, long Offset = 0) : Frame(Id)
{
    /// <summary>Prints the members without the token, which is a bearer credential.</summary>
    protected override bool PrintMembers(StringBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Append("Id = ").Append(Id)
            .Append(", Token = (").Append(Token?.Length ?? 0).Append(" chars)")
            .Append(", Device = ").Append(Device)
            .Append(", Offset = ").Append(Offset);
        return true;
    }
}
