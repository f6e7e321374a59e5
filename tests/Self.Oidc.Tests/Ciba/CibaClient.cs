using Duende.IdentityModel.Client;
using Self.Oidc.Clients;
using Self.Oidc.Tests.Infrastructure;

namespace Self.Oidc.Tests.Ciba;

/// <summary>What a CIBA relying party does with Duende.IdentityModel: nothing Self-specific.</summary>
/// <remarks>
/// <paramref name="instance"/>: the provider instance to talk to when several serve one issuer (behind a load balancer
/// in production): discovery is read from it, and its endpoints are called at its own address.
/// </remarks>
internal sealed class CibaClient(OidcFixture fixture, OidcClientCreated client, Uri? instance = null)
{
    public string ClientId => client.ClientId;

    public string Secret => client.ClientSecret!;

    public async Task<DiscoveryDocumentResponse> DiscoverAsync()
    {
        var disco = await fixture.Http.GetDiscoveryDocumentAsync(new DiscoveryDocumentRequest
        {
            Address = (instance ?? fixture.Issuer).AbsoluteUri,
            Policy = { RequireHttps = false, ValidateEndpoints = false, ValidateIssuerName = instance is null },
        });
        Assert.False(disco.IsError, disco.Error);
        return disco;
    }

    /// <summary>An endpoint of the discovery document, at <c>instance</c>'s address when one was given.</summary>
    private string At(string endpoint) =>
        instance is null ? endpoint : new Uri(instance, new Uri(endpoint).PathAndQuery).AbsoluteUri;

    public async Task<BackchannelAuthenticationResponse> StartAsync(
        string? loginHint, string? bindingMessage = null, int? requestedExpiry = null, string scope = "openid profile",
        string? notificationToken = null, string? idTokenHint = null, string? requestObject = null, ClientAssertion? assertion = null,
        ClientCredentialStyle style = ClientCredentialStyle.AuthorizationHeader, string? secret = null)
    {
        var disco = await DiscoverAsync();
        var request = new BackchannelAuthenticationRequest
        {
            Address = At(disco.BackchannelAuthenticationEndpoint!),
            ClientId = ClientId,
            ClientSecret = assertion is null ? secret ?? Secret : null,
            ClientAssertion = assertion ?? new ClientAssertion(),
            ClientCredentialStyle = assertion is null ? style : ClientCredentialStyle.PostBody,
            Scope = requestObject is null ? scope : null!,
            LoginHint = loginHint,
            BindingMessage = bindingMessage,
            RequestedExpiry = requestedExpiry,
            ClientNotificationToken = notificationToken,
            IdTokenHint = idTokenHint,
            RequestObject = requestObject,
        };
        return await fixture.Http.RequestBackchannelAuthenticationAsync(request);
    }

    public async Task<TokenResponse> RedeemAsync(string? authReqId, string? secret = null, ClientAssertion? assertion = null, string? clientId = null)
    {
        var disco = await DiscoverAsync();
        return await fixture.Http.RequestBackchannelAuthenticationTokenAsync(new BackchannelAuthenticationTokenRequest
        {
            Address = At(disco.TokenEndpoint!),
            ClientId = clientId ?? ClientId,
            ClientSecret = assertion is null ? secret ?? Secret : null,
            ClientAssertion = assertion ?? new ClientAssertion(),
            ClientCredentialStyle = assertion is null ? ClientCredentialStyle.AuthorizationHeader : ClientCredentialStyle.PostBody,
            AuthenticationRequestId = authReqId ?? throw new ArgumentNullException(nameof(authReqId)),
        });
    }
}

internal static class BackchannelResponses
{
    /// <summary>The OAuth error code of a refused backchannel request (Duende gives the HTTP reason for non-400 answers).</summary>
    public static string? ErrorCode(this ProtocolResponse response) =>
        response.Json is { } json && json.TryGetProperty("error", out var error) ? error.GetString() : response.Error;

    /// <summary>The error_description of a refused backchannel request.</summary>
    public static string? Description(this BackchannelAuthenticationResponse response) =>
        response.Json is { } json && json.TryGetProperty("error_description", out var description) ? description.GetString() : null;
}
