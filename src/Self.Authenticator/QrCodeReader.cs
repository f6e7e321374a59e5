namespace Self.Authenticator;

/// <summary>Reads the text of a QR code in a picture (PNG, JPEG, GIF, BMP, WebP), on any OS, without GUI libraries.</summary>
public static class QrCodeReader
{
    /// <summary>The text the picture's QR code carries, or null when no code can be read in it.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a picture.</exception>
    public static string? Read(byte[] image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return QrImages.Decode(image);
    }
}
