using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Self.Protocol.Jws;
using Self.Protocol.Keys;

namespace Self.Protocol.Messages;

/// <summary>Signs message claims into a flattened JWS and reads them back (spec §9).</summary>
public static class SignedMessage
{
    /// <summary>Serializes <paramref name="claims"/> (by its runtime type) and signs it with <paramref name="key"/>.</summary>
    public static FlattenedJws Sign<T>(T claims, SigningKey key)
        where T : MessageClaims
    {
        ArgumentNullException.ThrowIfNull(claims);
        ArgumentNullException.ThrowIfNull(key);
        return FlattenedJws.Sign(Serialize(claims), key);
    }

    /// <summary>The claims as UTF-8 JSON, as <see cref="Sign{T}"/> would sign them.</summary>
    public static byte[] Serialize<T>(T claims)
        where T : MessageClaims
    {
        ArgumentNullException.ThrowIfNull(claims);
        return JsonSerializer.SerializeToUtf8Bytes(claims, TypeInfo(claims.GetType()));
    }

    /// <summary>
    /// Reads the claims as <typeparamref name="T"/>. Does not check the signature, <c>typ</c> or times: the caller
    /// verifies the JWS against the sender's history and checks the claims.
    /// </summary>
    /// <exception cref="MessageFormatException">The payload is not JSON of that shape.</exception>
    public static T ReadClaims<T>(FlattenedJws message)
        where T : MessageClaims
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            return (T?)JsonSerializer.Deserialize(message.PayloadBytes.Span, TypeInfo(typeof(T)))
                ?? throw new MessageFormatException("The message's claims are null.");
        }
        catch (JsonException ex)
        {
            throw new MessageFormatException($"The message's claims are not a valid {typeof(T).Name}: {ex.Message}", ex);
        }
    }

    /// <summary>The message's <c>typ</c> claim, or null when it has none.</summary>
    /// <exception cref="MessageFormatException">The payload is not a JSON object.</exception>
    public static string? PeekType(FlattenedJws message)
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            using var document = Encoding.StrictJson.Parse(message.PayloadBytes, 32);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new MessageFormatException("The message's claims are not a JSON object.");
            }

            return document.RootElement.TryGetProperty("typ", out var typ) && typ.ValueKind == JsonValueKind.String
                ? typ.GetString()
                : null;
        }
        catch (JsonException ex)
        {
            throw new MessageFormatException("The message's claims are not valid JSON.", ex);
        }
    }

    private static JsonTypeInfo TypeInfo(Type type) =>
        MessageJsonContext.Default.GetTypeInfo(type)
        ?? throw new ArgumentException($"{type.Name} is not a message claims type known to {nameof(MessageJsonContext)}.", nameof(type));
}
