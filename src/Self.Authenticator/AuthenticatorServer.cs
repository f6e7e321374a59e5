using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Self.Authenticator;

/// <summary>
/// The Self web authenticator: a local web app over <see cref="Self.Device.SelfDevice"/> for a person. It listens on
/// 127.0.0.1 (unless <see cref="AuthenticatorOptions.ListenAny"/>), and serves nothing but its login endpoint and static
/// files to a browser that has not opened the one-time <see cref="LoginLink"/>.
/// </summary>
/// <example>
/// <code>
/// await using var authenticator = await AuthenticatorServer.StartAsync(new AuthenticatorOptions
/// {
///     ServerUrl = new Uri("http://127.0.0.1:8080"),
///     DataDirectory = "/home/me/.self/authenticator",
/// });
/// Console.WriteLine(authenticator.LoginLink);
/// </code>
/// </example>
public sealed class AuthenticatorServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly AuthenticatorApp _state;

    private AuthenticatorServer(WebApplication app, AuthenticatorApp state, Uri baseAddress)
    {
        _app = app;
        _state = state;
        BaseAddress = baseAddress;
        LoginLink = NewLoginLink();
    }

    /// <summary>Where the page is, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The one-time login link made at start. It works once; <see cref="NewLoginLink"/> makes another.</summary>
    public Uri LoginLink { get; private set; }

    /// <summary>A new one-time login link; the earlier link and the browser session it opened stop working.</summary>
    public Uri NewLoginLink()
    {
        LoginLink = new Uri(BaseAddress, "login?secret=" + _state.Session.NewLoginSecret());
        return LoginLink;
    }

    /// <summary>Starts listening.</summary>
    /// <exception cref="ArgumentException">An option is wrong; the message names it.</exception>
    /// <exception cref="IOException">The port is taken (the message says which).</exception>
    public static async Task<AuthenticatorServer> StartAsync(AuthenticatorOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Directory.CreateDirectory(options.DataDirectory);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(AuthenticatorServer).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        if (options.LoggerFactory is { } loggers)
        {
            builder.Services.AddSingleton(loggers);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = QrImages.MaxUploadBytes + 64 * 1024;
            if (options.ListenAny)
            {
                kestrel.Listen(IPAddress.Any, options.Port);
            }
            else
            {
                kestrel.Listen(IPAddress.Loopback, options.Port);
            }
        });

        var app = builder.Build();
        var state = new AuthenticatorApp(options);
        state.Map(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } || ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"Port {options.Port} is already in use: stop what listens there, or pick another with --port.", ex);
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address).Port;
        var baseAddress = new Uri($"http://127.0.0.1:{port}/");
        state.Port = port;
        return new AuthenticatorServer(app, state, baseAddress);
    }

    /// <summary>Stops listening and closes the device.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _state.DisposeAsync().ConfigureAwait(false);
    }
}
