using QRCoder;

namespace Self.Sdk.QrCodes;

/// <summary>
/// A QR code that carries a signed request (an authentication request or a connection invitation) for a device to
/// scan. The payload is the request's flattened JWS JSON, at error-correction level L (spec §11).
/// </summary>
public sealed class QrCode
{
    private readonly QRCodeData _data;

    internal QrCode(string payload, string conversationId)
    {
        Payload = payload;
        ConversationId = conversationId;
        using var generator = new QRCodeGenerator();
        _data = generator.CreateQrCode(payload, QRCodeGenerator.ECCLevel.L);
    }

    /// <summary>The text the code encodes: the signed request as JSON.</summary>
    public string Payload { get; }

    /// <summary>The conversation id the app waits on for the answer.</summary>
    public string ConversationId { get; }

    /// <summary>The code's modules (true = dark), row by row, including the quiet zone.</summary>
    public IReadOnlyList<IReadOnlyList<bool>> Modules =>
        _data.ModuleMatrix.Select(row => (IReadOnlyList<bool>)[.. row.Cast<bool>()]).ToList();

    /// <summary>The code as a PNG image.</summary>
    /// <param name="pixelsPerModule">Size of one module in pixels.</param>
    public byte[] ToPng(int pixelsPerModule = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pixelsPerModule, 1);
        return new PngByteQRCode(_data).GetGraphic(pixelsPerModule);
    }

    /// <summary>The code as an SVG document.</summary>
    /// <param name="pixelsPerModule">Size of one module in SVG units.</param>
    public string ToSvg(int pixelsPerModule = 5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pixelsPerModule, 1);
        return new SvgQRCode(_data).GetGraphic(pixelsPerModule);
    }

    /// <summary>The code drawn with block characters, two modules per text row, for a terminal.</summary>
    public string ToTerminalText() => new AsciiQRCode(_data).GetGraphicSmall();
}
