using Self.Device;

namespace Self.Authenticator;

/// <summary>
/// Number matching (spec §9a) as the page uses it: the person types the number the sign-in screen shows; the page never
/// knows it, the device checks it against the request's salted hash.
/// </summary>
internal static class NumberMatching
{
    public static bool IsRequired(IncomingRequest request) => request.RequiresNumber;

    /// <exception cref="NumberMismatchException">No number, or not the app's; nothing is sent (after three, the device rejects).</exception>
    public static Task AcceptAsync(IncomingRequest request, string? number, CancellationToken cancellationToken)
    {
        if (!request.RequiresNumber)
        {
            return request.AcceptAsync(cancellationToken);
        }

        if (string.IsNullOrWhiteSpace(number))
        {
            // The plain accept says why: this request needs the number.
            return request.AcceptAsync(cancellationToken);
        }

        return request.AcceptAsync(number, cancellationToken);
    }
}
