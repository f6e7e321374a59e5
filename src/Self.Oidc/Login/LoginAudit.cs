using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Self.AspNetCore;

namespace Self.Oidc.Login;

/// <summary>
/// The audit lines of the code flow's login page (Self.AspNetCore's scheme): who signed in at the provider, or how the
/// request ended. Never a token.
/// </summary>
internal static class LoginAudit
{
    public static Task SignedInAsync(SelfCreatingTicketContext context)
    {
        Audit.Login(Logger(context.HttpContext.RequestServices), context.Answer.SelfId, "accepted");
        return Task.CompletedTask;
    }

    public static Task EndedAsync(SelfOutcomeContext context)
    {
        Audit.Login(Logger(context.HttpContext.RequestServices), context.Answer.SelfId, context.Answer.Status.ToString().ToLowerInvariant());
        return Task.CompletedTask;
    }

    private static ILogger Logger(IServiceProvider services) => services.GetRequiredService<ILoggerFactory>().CreateLogger(Audit.Category);
}
