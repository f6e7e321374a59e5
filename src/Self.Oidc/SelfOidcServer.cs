using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenIddict.Abstractions;
using Self.Oidc.Ciba;
using Self.Oidc.Hosting;
using Self.Oidc.Keys;
using Self.AspNetCore;
using Self.Oidc.Login;
using Self.Oidc.Storage;
using Self.Sdk;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Self.Oidc;

/// <summary>
/// An OpenID Provider backed by Self, built on OpenIddict: discovery, JWKS, client authentication and token issuance
/// are OpenIddict's; CIBA (poll and ping) and the login page of the authorization code flow ask the user on their Self
/// device through the provider's own Self app.
/// </summary>
public sealed class SelfOidcServer : IAsyncDisposable
{
    /// <summary>The provider's cookie scheme: who is signed in at the provider (set by the Self scheme's login page).</summary>
    public const string LoginScheme = "Self.Oidc.Login";

    private readonly WebApplication _app;
    private int _stopped;

    private SelfOidcServer(WebApplication app, SelfOidcOptions options, Uri baseAddress, string appId)
    {
        _app = app;
        Options = options;
        BaseAddress = baseAddress;
        AppId = appId;
    }

    /// <summary>The options the server runs with.</summary>
    public SelfOidcOptions Options { get; }

    /// <summary>The first listening address, e.g. http://127.0.0.1:5100/.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The issuer published in discovery.</summary>
    public Uri Issuer => Options.Issuer ?? BaseAddress;

    /// <summary>The provider's Self app id: the app users connect to before a CIBA client can ask them.</summary>
    public string AppId { get; }

    /// <summary>The server's services (tests).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts the provider: storage, keys, the Self app's connection, then Kestrel.</summary>
    public static async Task<SelfOidcServer> StartAsync(SelfOidcOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var loggers = new RedactingLoggerFactory(options.LoggerFactory ?? NullLoggerFactory.Instance);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(SelfOidcServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.WebHost.UseUrls(options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.Services.AddRouting();
        builder.Services.AddSingleton<ILoggerFactory>(loggers);
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(options.TimeProvider);
        builder.Services.AddOidcStorage(options);

        // Keys and the app identity are needed to configure OpenIddict, so they are read before the host is built.
        SelfOidcApp providerApp;
        using (var setup = new ServiceCollection().AddSingleton<ILoggerFactory>(loggers).AddOidcStorage(options).BuildServiceProvider())
        {
            await OidcServices.EnsureStorageAsync(setup, options, cancellationToken).ConfigureAwait(false);
            await using var db = await setup.GetRequiredService<IDbContextFactory<OidcDbContext>>().CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            var ring = await KeyRing.LoadAsync(db, options.SigningKeyLifetime, options.TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            builder.Services.AddSingleton(ring);
            providerApp = await ProviderApp.ResolveAsync(options, setup.GetRequiredService<IDbContextFactory<OidcDbContext>>(), cancellationToken).ConfigureAwait(false);
        }

        var keys = builder.Services.BuildServiceProvider().GetRequiredService<KeyRing>();
        ConfigureOpenIddict(builder.Services, options, keys);

        // One login page for the whole codebase: the code flow signs the browser in with Self.AspNetCore's scheme (push
        // with number matching, or a QR code; live status), which puts the principal in the provider's own cookie.
        var selfClock = options.SelfClientTimeProvider ?? options.TimeProvider;
        builder.Services.AddAuthentication(LoginScheme)
            .AddCookie(LoginScheme, cookie =>
            {
                cookie.Cookie.Name = "self_oidc_login";
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = Microsoft.AspNetCore.Http.SameSiteMode.Lax;
                cookie.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
                cookie.ExpireTimeSpan = TimeSpan.FromMinutes(30);
                cookie.SlidingExpiration = false;
                cookie.TimeProvider = options.TimeProvider;
            })
            .AddSelf(SelfAuthenticationDefaults.AuthenticationScheme, self =>
            {
                self.SignInScheme = LoginScheme;
                self.SiteName = options.AppName;
                self.Expiry = options.DefaultRequestExpiry;
                // Always on: the ID token's amr says "mca" for a push sign-in because of it.
                self.NumberMatching = true;
                // The Self request's expiry comes from the Self client's clock: the page must judge it by the same one.
                self.TimeProvider = selfClock;
                self.Events.OnCreatingTicket = LoginAudit.SignedInAsync;
                self.Events.OnRejected = LoginAudit.EndedAsync;
                self.Events.OnExpired = LoginAudit.EndedAsync;
            });
        // The login page's state, the antiforgery tokens and the provider's cookie are protected with keys kept in the
        // provider's database: they survive a restart, and every instance on one PostgreSQL reads what another wrote.
        builder.Services.AddDataProtection().SetApplicationName("Self.Oidc").PersistKeysToDbContext<OidcDbContext>();
        builder.Services.AddAuthorization();
        builder.Services.AddAntiforgery();
        builder.Services.AddHttpClient();
        builder.Services.AddSingleton(sp => new PingSender(sp.GetRequiredService<IHttpClientFactory>().CreateClient("ciba-ping"), options, loggers));
        builder.Services.AddSingleton(new RateLimiter(options.TimeProvider));
        builder.Services.AddSingleton<IssuerResolver>();

        // The provider's one SelfClient (one app identity), in the container: the Self scheme finds it there, and the
        // gateway uses the same one for CIBA. The container owns and disposes it.
        builder.Services.AddSingleton(_ => new SelfClient(new SelfClientOptions
        {
            AppId = providerApp.AppId,
            AppSecret = providerApp.AppSecret,
            StorageKey = providerApp.StorageKey,
            DeviceId = options.AppDeviceId,
            StorageDirectory = Path.Combine(options.DataDirectory, "self-client"),
            ApiUrl = options.NetworkUrl,
            MessagingUrl = options.MessagingUrl,
            TimeProvider = selfClock,
            LoggerFactory = loggers,
            DefaultExpiry = options.DefaultRequestExpiry,
        }));
        builder.Services.AddSingleton(sp => new SelfGateway(
            sp.GetRequiredService<SelfClient>(),
            sp.GetRequiredService<IDbContextFactory<OidcDbContext>>(),
            sp.GetRequiredService<PingSender>(),
            loggers,
            options.TimeProvider));
        builder.Services.AddScoped<CibaEndpoints>();

        var app = builder.Build();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        Endpoints.Map(app);

        try
        {
            await app.Services.GetRequiredService<SelfGateway>().StartAsync(cancellationToken).ConfigureAwait(false);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses
                .Select(static a => new Uri(a.Replace("://[::]", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal)))
                .ToArray() ?? [];
            if (addresses.Length == 0)
            {
                throw new InvalidOperationException("The server started but reports no listening address.");
            }

            var baseAddress = new UriBuilder(addresses[0]) { Path = "/" }.Uri;
            app.Services.GetRequiredService<IssuerResolver>().SetListening(baseAddress);
            var server = new SelfOidcServer(app, options, baseAddress, providerApp.AppId);
            Log.Listening(loggers.CreateLogger<SelfOidcServer>(), string.Join(", ", addresses.Select(static a => a.ToString())), server.Issuer.AbsoluteUri, providerApp.AppId);
            return server;
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops listening and closes the Self app's connection.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // The container disposes the Self gateway and the ping sender with the host.
        await StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static void ConfigureOpenIddict(IServiceCollection services, SelfOidcOptions options, KeyRing keys)
    {
        services.AddOpenIddict().AddServer(server =>
        {
            if (options.Issuer is { } issuer)
            {
                server.SetIssuer(issuer);
            }

            server.SetAuthorizationEndpointUris("connect/authorize")
                .SetTokenEndpointUris("connect/token", CibaModes.BackchannelPath.TrimStart('/'))
                .SetUserInfoEndpointUris("connect/userinfo")
                .SetConfigurationEndpointUris(".well-known/openid-configuration")
                .SetJsonWebKeySetEndpointUris(".well-known/jwks");

            server.AllowAuthorizationCodeFlow()
                .AllowCustomFlow(CibaModes.GrantType)
                .AllowCustomFlow(CibaModes.BackchannelGrantType);
            server.RegisterScopes(Scopes.OpenId, Scopes.Profile);
            server.Configure(o =>
            {
                // PKCE with S256 only: "plain" gives no protection against a stolen code.
                o.CodeChallengeMethods.Clear();
                o.CodeChallengeMethods.Add(CodeChallengeMethods.Sha256);
            });

            server.AddSigningKey(keys.Current);
            server.AddEncryptionKey(keys.Encryption);
            server.DisableAccessTokenEncryption();
            server.SetAccessTokenLifetime(options.TokenLifetime).SetIdentityTokenLifetime(options.TokenLifetime);
            server.SetAuthorizationCodeLifetime(TimeSpan.FromMinutes(2));

            var aspNetCore = server.UseAspNetCore()
                .EnableAuthorizationEndpointPassthrough()
                .EnableTokenEndpointPassthrough()
                .EnableUserInfoEndpointPassthrough();
            if (options.AllowInsecureHttp)
            {
                aspNetCore.DisableTransportSecurityRequirement();
            }

            server.AddEventHandler(OpenIddictCiba.MarkBackchannelRequests.Descriptor);
            server.AddEventHandler(OpenIddictCiba.AddDiscoveryMetadata.Descriptor);
            server.AddEventHandler(OpenIddictCiba.HideInternalGrant.Descriptor);
            server.AddEventHandler(OpenIddictCiba.RefuseReplayedAssertions.Descriptor);
            if (!options.StrictClientAssertionTypes)
            {
                server.AddEventHandler(OpenIddictCiba.AcceptCommonAssertionTypes.Descriptor);
            }

            server.AddEventHandler(PublishRetiredKeys.Descriptor);
        });
    }
}
