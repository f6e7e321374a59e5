using QRCoder;
using SkiaSharp;
using ZXing;
using ZXing.Common;

namespace Self.Authenticator;

/// <summary>QR codes for the page: drawn with QRCoder, read back from an uploaded image with ZXing over SkiaSharp.</summary>
internal static class QrImages
{
    public const int MaxUploadBytes = 4 * 1024 * 1024;

    /// <summary>The text an image's QR code carries, or null when the image holds no readable code.</summary>
    /// <exception cref="InvalidDataException">The bytes are not an image SkiaSharp can read.</exception>
    public static string? Decode(byte[] image)
    {
        using var bitmap = SKBitmap.Decode(image) ?? throw new InvalidDataException("The file is not a PNG, JPEG, GIF, BMP or WebP image.");
        using var rgba = bitmap.ColorType == SKColorType.Rgba8888 ? null : bitmap.Copy(SKColorType.Rgba8888);
        var source = rgba ?? bitmap;
        var pixels = source.Bytes;
        var luminance = new RGBLuminanceSource(pixels, source.Width, source.Height, RGBLuminanceSource.BitmapFormat.RGBA32);
        var reader = new BarcodeReaderGeneric
        {
            AutoRotate = true,
            Options = new DecodingOptions { PossibleFormats = [BarcodeFormat.QR_CODE], TryHarder = true },
        };
        return reader.Decode(luminance)?.Text;
    }

    /// <summary>An SVG QR code of <paramref name="text"/>.</summary>
    public static string Svg(string text, QRCodeGenerator.ECCLevel level = QRCodeGenerator.ECCLevel.M)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(text, level);
        return new SvgQRCode(data).GetGraphic(6, "#111", "#fff", drawQuietZones: true, sizingMode: SvgQRCode.SizingMode.ViewBoxAttribute);
    }

    /// <summary>The app icon as a PNG of <paramref name="size"/> pixels: a rounded square with a check mark.</summary>
    public static byte[] Icon(int size)
    {
        using var surface = SKSurface.Create(new SKImageInfo(size, size));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.Transparent);
        using (var fill = new SKPaint { Color = new SKColor(0x1f, 0x4e, 0xd8), IsAntialias = true })
        {
            canvas.DrawRoundRect(new SKRect(0, 0, size, size), size * 0.2f, size * 0.2f, fill);
        }

        using (var stroke = new SKPaint { Color = SKColors.White, IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = size * 0.1f, StrokeCap = SKStrokeCap.Round, StrokeJoin = SKStrokeJoin.Round })
        using (var path = new SKPath())
        {
            path.MoveTo(size * 0.27f, size * 0.52f);
            path.LineTo(size * 0.44f, size * 0.69f);
            path.LineTo(size * 0.74f, size * 0.33f);
            canvas.DrawPath(path, stroke);
        }

        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
