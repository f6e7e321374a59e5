using Self.Protocol.Encoding;

namespace Self.Protocol.Links;

/// <summary>
/// Deep links (spec §11): <c>&lt;links base&gt;?link=&lt;callback URL&gt;%3Fqr=&lt;b64url of the JWS JSON&gt;</c>, a URL a phone
/// opens to answer a request or an invitation.
/// </summary>
public static class DeepLink
{
    /// <summary>Builds the deep link for a signed request.</summary>
    /// <param name="linksBase">The links service, e.g. <c>https://links.joinself.com</c>.</param>
    /// <param name="callback">Where the phone returns after answering.</param>
    /// <param name="jwsJson">The request's flattened JWS JSON.</param>
    public static Uri Build(Uri linksBase, Uri callback, string jwsJson)
    {
        ArgumentNullException.ThrowIfNull(linksBase);
        ArgumentNullException.ThrowIfNull(callback);
        ArgumentException.ThrowIfNullOrEmpty(jwsJson);
        var qr = Base64Codec.EncodeUrl(System.Text.Encoding.UTF8.GetBytes(jwsJson));
        var link = Uri.EscapeDataString(callback.AbsoluteUri + "?qr=" + qr);
        var separator = string.IsNullOrEmpty(linksBase.Query) ? "?" : "&";
        return new Uri(linksBase.AbsoluteUri + separator + "link=" + link);
    }

    /// <summary>
    /// Reads the signed request out of a deep link (or returns the text unchanged when it is already the JWS JSON,
    /// as a scanned QR code is).
    /// </summary>
    /// <exception cref="FormatException">The link carries no request.</exception>
    public static string ExtractPayload(string linkOrPayload)
    {
        ArgumentException.ThrowIfNullOrEmpty(linkOrPayload);
        var text = linkOrPayload.Trim();
        if (text.StartsWith('{'))
        {
            return text;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            throw new FormatException("Not a deep link or a QR payload: expected a URL or the request's JSON.");
        }

        var link = QueryValue(uri.Query, "link");
        var inner = link is null ? uri : new Uri(link);
        var qr = QueryValue(inner.Query, "qr")
            ?? throw new FormatException("The deep link carries no 'qr' parameter with a request.");
        return System.Text.Encoding.UTF8.GetString(Base64Codec.Decode(qr));
    }

    private static string? QueryValue(string query, string name)
    {
        foreach (var part in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? part : part[..eq];
            if (key == name)
            {
                return eq < 0 ? string.Empty : Uri.UnescapeDataString(part[(eq + 1)..]);
            }
        }

        return null;
    }
}
