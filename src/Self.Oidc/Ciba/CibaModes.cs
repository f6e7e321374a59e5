namespace Self.Oidc.Ciba;

/// <summary>The names CIBA Core 1.0 and this provider give to its modes, grant, parameters and errors.</summary>
public static class CibaModes
{
    /// <summary>The client polls the token endpoint.</summary>
    public const string Poll = "poll";

    /// <summary>The provider POSTs the <c>auth_req_id</c> to the client's notification endpoint, then the client redeems it.</summary>
    public const string Ping = "ping";

    /// <summary>The CIBA grant type at the token endpoint.</summary>
    public const string GrantType = "urn:openid:params:grant-type:ciba";

    /// <summary>
    /// The grant type the provider gives backchannel authentication requests internally, so that OpenIddict
    /// authenticates the client there exactly as at the token endpoint. Never published.
    /// </summary>
    internal const string BackchannelGrantType = "urn:self:params:grant-type:ciba-backchannel";

    /// <summary>The backchannel authentication endpoint's path.</summary>
    public const string BackchannelPath = "/connect/ciba";

    /// <summary>The application property holding the client's delivery mode.</summary>
    internal const string ModeProperty = "backchannel_token_delivery_mode";

    /// <summary>The application property holding the client's notification endpoint.</summary>
    internal const string NotificationEndpointProperty = "backchannel_client_notification_endpoint";
}
