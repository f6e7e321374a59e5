using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Self.Network.Tests.Infrastructure;
using Self.Protocol.Frames;

namespace Self.Network.Tests.Relay;

/// <summary>
/// Keep-alive is checked below the ClientWebSocket, which answers pings without telling anyone: a raw socket speaks
/// the upgrade and reads the server's frames with their opcodes. Gen-1 Go clients need real Ping frames.
/// </summary>
public sealed class PingTests
{
    [Fact]
    public async Task IdleConnection_ServerSendsRealPingFrames()
    {
        await using var server = await NetworkFixture.StartAsync(TempDirectory.Create(), TimeProvider.System, configure: o => o with { PingInterval = TimeSpan.FromSeconds(1) });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var app = await TestIdentity.CreateAppAsync(http, server.AdminToken);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var stream = tcp.GetStream();
        stream.ReadTimeout = 20_000;

        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var upgrade = $"GET /v2/messaging HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(upgrade));
        Assert.StartsWith("HTTP/1.1 101", ReadHeaders(stream), StringComparison.Ordinal);

        WriteClientFrame(stream, 0x2, FrameCodec.Encode(new AuthFrame("a", app.Token(), "1")));
        // A ping may come first on a slow machine (the keep-alive timer starts at the upgrade): control frames are not
        // protocol frames, so the first data frame must be the ACK.
        var (ackOpcode, ack) = ReadServerFrame(stream);
        while (ackOpcode == 0x9)
        {
            (ackOpcode, ack) = ReadServerFrame(stream);
        }

        Assert.Equal(0x2, ackOpcode);
        Assert.Equal(NotificationFrame.Ack("a"), FrameCodec.Decode(ack));

        var (opcode, _) = ReadServerFrame(stream);
        Assert.Equal(0x9, opcode);
    }

    private static string ReadHeaders(NetworkStream stream)
    {
        var text = new StringBuilder();
        while (!text.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            var b = stream.ReadByte();
            Assert.NotEqual(-1, b);
            text.Append((char)b);
        }

        return text.ToString();
    }

    private static void WriteClientFrame(NetworkStream stream, byte opcode, byte[] payload)
    {
        using var frame = new MemoryStream();
        frame.WriteByte((byte)(0x80 | opcode));
        if (payload.Length < 126)
        {
            frame.WriteByte((byte)(0x80 | payload.Length));
        }
        else
        {
            frame.WriteByte(0x80 | 126);
            frame.WriteByte((byte)(payload.Length >> 8));
            frame.WriteByte((byte)payload.Length);
        }

        var mask = RandomNumberGenerator.GetBytes(4);
        frame.Write(mask);
        for (var i = 0; i < payload.Length; i++)
        {
            frame.WriteByte((byte)(payload[i] ^ mask[i % 4]));
        }

        stream.Write(frame.ToArray());
    }

    private static (int Opcode, byte[] Payload) ReadServerFrame(NetworkStream stream)
    {
        var head = ReadExactly(stream, 2);
        long length = head[1] & 0x7f;
        if (length == 126)
        {
            var ext = ReadExactly(stream, 2);
            length = (ext[0] << 8) | ext[1];
        }
        else if (length == 127)
        {
            var ext = ReadExactly(stream, 8);
            length = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(ext);
        }

        return (head[0] & 0x0f, ReadExactly(stream, (int)length));
    }

    private static byte[] ReadExactly(NetworkStream stream, int count)
    {
        var buffer = new byte[count];
        stream.ReadExactly(buffer);
        return buffer;
    }
}
