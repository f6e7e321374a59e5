using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Self.Oidc.Hosting;

/// <summary>
/// The provider's loggers. OpenIddict logs whole requests at Information and Debug — it masks client secrets but not
/// <c>auth_req_id</c>, codes or tokens it does not know as secret — so its categories log only from Warning up.
/// </summary>
internal sealed class RedactingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) =>
        categoryName.StartsWith("OpenIddict", StringComparison.Ordinal) ? new AtLeast(inner.CreateLogger(categoryName), LogLevel.Warning) : inner.CreateLogger(categoryName);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    // The factory belongs to whoever gave it.
    public void Dispose()
    {
    }

    private sealed class AtLeast(ILogger inner, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
