using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using Self.Oidc.Ciba;
using Self.Oidc.Hosting;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Self.Oidc.Clients;

/// <summary>What to register: a web app (redirect URIs, code flow) and/or a CIBA client (poll or ping).</summary>
public sealed record OidcClientRegistration
{
    /// <summary>The name shown to users ("Sign in to …").</summary>
    public required string Name { get; init; }

    /// <summary>Exact redirect URIs for the authorization code flow; none: no code flow.</summary>
    public IReadOnlyList<Uri> RedirectUris { get; init; } = [];

    /// <summary><c>poll</c> or <c>ping</c> to allow CIBA; null: no CIBA.</summary>
    public string? CibaMode { get; init; }

    /// <summary>The ping client's <c>client_notification_endpoint</c>.</summary>
    public Uri? NotificationEndpoint { get; init; }

    /// <summary>The client's public keys (a JWKS document) for private_key_jwt and signed request objects.</summary>
    public string? JsonWebKeySet { get; init; }

    /// <summary>A public client (a browser or native app): no secret, PKCE S256 required, no CIBA.</summary>
    public bool Public { get; init; }
}

/// <summary>A registered client. <see cref="ClientSecret"/> is shown once: only its hash is stored.</summary>
public sealed record OidcClientCreated(string ClientId, string? ClientSecret)
{
    /// <inheritdoc />
    public override string ToString() => $"OidcClientCreated({ClientId})";
}

/// <summary>A client as listed (never with a secret).</summary>
public sealed record OidcClientInfo(string ClientId, string Name, string Type, IReadOnlyList<string> RedirectUris, string? CibaMode, string? NotificationEndpoint, bool HasKeys);

/// <summary>The provider's clients, in its database (the same one <see cref="SelfOidcServer"/> uses).</summary>
public sealed class SelfOidcClients : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private SelfOidcClients(ServiceProvider services) => _services = services;

    /// <summary>Opens the client store in <paramref name="dataDirectory"/> (SQLite) or on PostgreSQL.</summary>
    public static async Task<SelfOidcClients> OpenAsync(string dataDirectory, string? postgresConnectionString = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        var services = new ServiceCollection().AddLogging().AddOidcStorage(dataDirectory, postgresConnectionString).BuildServiceProvider();
        try
        {
            await OidcServices.EnsureStorageAsync(services, dataDirectory, postgresConnectionString, cancellationToken).ConfigureAwait(false);
            return new SelfOidcClients(services);
        }
        catch
        {
            await services.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Registers a client and returns its id and (for confidential clients) its secret, shown this once.</summary>
    public async Task<OidcClientCreated> AddAsync(OidcClientRegistration registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        Check(registration);
        var clientId = "oidc_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var secret = registration.Public ? null : Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = clientId,
            ClientSecret = secret,
            ClientType = registration.Public ? ClientTypes.Public : ClientTypes.Confidential,
            DisplayName = registration.Name.Trim(),
            ConsentType = ConsentTypes.Implicit,
        };
        descriptor.Permissions.Add(Permissions.Endpoints.Token);
        descriptor.Permissions.Add(Permissions.Prefixes.Scope + Scopes.Profile);
        if (registration.RedirectUris.Count > 0)
        {
            descriptor.Permissions.UnionWith([Permissions.Endpoints.Authorization, Permissions.GrantTypes.AuthorizationCode, Permissions.ResponseTypes.Code]);
            descriptor.RedirectUris.UnionWith(registration.RedirectUris);
        }

        if (registration.Public)
        {
            descriptor.Requirements.Add(Requirements.Features.ProofKeyForCodeExchange);
        }

        if (registration.CibaMode is { } mode)
        {
            descriptor.Permissions.Add(Permissions.Prefixes.GrantType + CibaModes.GrantType);
            descriptor.Permissions.Add(Permissions.Prefixes.GrantType + CibaModes.BackchannelGrantType);
            descriptor.Properties[CibaModes.ModeProperty] = JsonSerializer.SerializeToElement(mode);
            if (registration.NotificationEndpoint is { } endpoint)
            {
                descriptor.Properties[CibaModes.NotificationEndpointProperty] = JsonSerializer.SerializeToElement(endpoint.AbsoluteUri);
            }
        }

        if (registration.JsonWebKeySet is { } jwks)
        {
            descriptor.JsonWebKeySet = JsonWebKeySet.Create(jwks);
        }

        var manager = _services.GetRequiredService<IOpenIddictApplicationManager>();
        await manager.CreateAsync(descriptor, cancellationToken).ConfigureAwait(false);
        return new OidcClientCreated(clientId, secret);
    }

    /// <summary>Every client.</summary>
    public async Task<IReadOnlyList<OidcClientInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        var manager = _services.GetRequiredService<IOpenIddictApplicationManager>();
        var list = new List<OidcClientInfo>();
        await foreach (var application in manager.ListAsync(null, null, cancellationToken).ConfigureAwait(false))
        {
            var properties = await manager.GetPropertiesAsync(application, cancellationToken).ConfigureAwait(false);
            var redirects = await manager.GetRedirectUrisAsync(application, cancellationToken).ConfigureAwait(false);
            var keys = await manager.GetJsonWebKeySetAsync(application, cancellationToken).ConfigureAwait(false);
            list.Add(new OidcClientInfo(
                await manager.GetClientIdAsync(application, cancellationToken).ConfigureAwait(false) ?? "",
                await manager.GetDisplayNameAsync(application, cancellationToken).ConfigureAwait(false) ?? "",
                await manager.GetClientTypeAsync(application, cancellationToken).ConfigureAwait(false) ?? "",
                [.. redirects],
                properties.TryGetValue(CibaModes.ModeProperty, out var mode) ? mode.GetString() : null,
                properties.TryGetValue(CibaModes.NotificationEndpointProperty, out var endpoint) ? endpoint.GetString() : null,
                keys is { Keys.Count: > 0 }));
        }

        return list;
    }

    /// <summary>Removes a client; false when none has this id.</summary>
    public async Task<bool> RemoveAsync(string clientId, CancellationToken cancellationToken = default)
    {
        var manager = _services.GetRequiredService<IOpenIddictApplicationManager>();
        var application = await manager.FindByClientIdAsync(clientId, cancellationToken).ConfigureAwait(false);
        if (application is null)
        {
            return false;
        }

        await manager.DeleteAsync(application, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private static void Check(OidcClientRegistration registration)
    {
        if (string.IsNullOrWhiteSpace(registration.Name))
        {
            throw new ArgumentException("The client needs a name (--name): users see it when asked to sign in.", nameof(registration));
        }

        foreach (var uri in registration.RedirectUris)
        {
            if (!uri.IsAbsoluteUri || !string.IsNullOrEmpty(uri.Fragment))
            {
                throw new ArgumentException($"Redirect URI '{uri}' must be absolute and without a fragment.", nameof(registration));
            }
        }

        if (registration.CibaMode is not (null or CibaModes.Poll or CibaModes.Ping))
        {
            throw new ArgumentException($"CIBA mode '{registration.CibaMode}' is not supported: use poll or ping.", nameof(registration));
        }

        if (registration.CibaMode is not null && registration.Public)
        {
            throw new ArgumentException("CIBA clients must be confidential (CIBA Core §4): drop --public.", nameof(registration));
        }

        if (registration.CibaMode == CibaModes.Ping &&
            registration.NotificationEndpoint is not { IsAbsoluteUri: true } endpoint)
        {
            throw new ArgumentException("A ping client needs --notification-endpoint, an absolute URL where the provider POSTs.", nameof(registration));
        }

        if (registration.NotificationEndpoint is { } notify && notify.Scheme != Uri.UriSchemeHttps && !notify.IsLoopback)
        {
            throw new ArgumentException($"The notification endpoint '{notify}' must be https (http only on loopback).", nameof(registration));
        }

        if (registration.RedirectUris.Count == 0 && registration.CibaMode is null)
        {
            throw new ArgumentException("The client can do nothing: give --redirect-uri (code flow) and/or --ciba-mode.", nameof(registration));
        }

        if (registration.JsonWebKeySet is { } jwks)
        {
            try
            {
                _ = JsonWebKeySet.Create(jwks);
            }
            catch (Exception ex) when (ex is ArgumentException or JsonException)
            {
                throw new ArgumentException("The JWKS is not a JSON Web Key Set: " + ex.Message, nameof(registration), ex);
            }

            if (jwks.Contains("\"d\"", StringComparison.Ordinal))
            {
                throw new ArgumentException("The JWKS holds a private key: register only the public keys.", nameof(registration));
            }
        }
    }
}
