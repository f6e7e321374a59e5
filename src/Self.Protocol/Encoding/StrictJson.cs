using System.Text.Json;

namespace Self.Protocol.Encoding;

/// <summary>
/// How every parser of outside JSON reads it: a repeated member name is refused (never "last one wins"), and so is a
/// string that does not decode (invalid UTF-8, or a lone surrogate escape such as <c>"\ud800"</c>), which the reader
/// accepts but <see cref="JsonElement.GetString"/> would later throw on. Both fail as <see cref="JsonException"/>, the
/// error every caller already turns into a clear refusal.
/// </summary>
public static class StrictJson
{
    /// <summary>Document options with <paramref name="maxDepth"/> and duplicate members refused.</summary>
    public static JsonDocumentOptions Options(int maxDepth) => new() { MaxDepth = maxDepth, AllowDuplicateProperties = false };

    /// <summary>Parses <paramref name="utf8"/> strictly; the caller disposes the document.</summary>
    /// <exception cref="JsonException">Not valid JSON, a member repeated, or a string that is not valid UTF-16.</exception>
    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8, int maxDepth)
    {
        CheckStrings(utf8.Span, maxDepth);
        return JsonDocument.Parse(utf8, Options(maxDepth));
    }

    /// <summary>Parses <paramref name="json"/> strictly; the caller disposes the document.</summary>
    /// <exception cref="JsonException">Not valid JSON, a member repeated, or a string that is not valid UTF-16.</exception>
    public static JsonDocument Parse(string json, int maxDepth)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Parse(System.Text.Encoding.UTF8.GetBytes(json), maxDepth);
    }

    /// <summary>Throws <see cref="JsonException"/> when a string or member name in <paramref name="utf8"/> does not decode.</summary>
    public static void CheckStrings(ReadOnlySpan<byte> utf8, int maxDepth)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = maxDepth });
        while (reader.Read())
        {
            // Every string, not only escaped ones: the reader does not check a string's UTF-8 until it is decoded.
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName)
            {
                try
                {
                    _ = reader.GetString();
                }
                catch (InvalidOperationException ex)
                {
                    throw new JsonException("A JSON string is not valid text (invalid UTF-8, or an escaped lone surrogate).", ex);
                }
            }
        }
    }
}
