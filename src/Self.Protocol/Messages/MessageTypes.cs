namespace Self.Protocol.Messages;

/// <summary>The <c>typ</c> of every message the spec names (§4, §7, §9).</summary>
public static class MessageTypes
{
    /// <summary>An auth token (spec §4); not a message, but the same claim.</summary>
    public const string AuthToken = "auth.token";

    /// <summary>Authentication request, current form (since 2022): <c>auth: true</c>, <c>facts: []</c>.</summary>
    public const string FactsQueryRequest = "identities.facts.query.req";

    /// <summary>Authentication response to a current-form request.</summary>
    public const string FactsQueryResponse = "identities.facts.query.resp";

    /// <summary>Authentication request, legacy form.</summary>
    public const string AuthenticateRequest = "identities.authenticate.req";

    /// <summary>Authentication response to a legacy request.</summary>
    public const string AuthenticateResponse = "identities.authenticate.resp";

    /// <summary>An app's invitation to connect (spec §7).</summary>
    public const string ConnectionsRequest = "identities.connections.req";

    /// <summary>A device's answer to an invitation to connect.</summary>
    public const string ConnectionsResponse = "identities.connections.resp";

    /// <summary>A user's permit for a sender (spec §7).</summary>
    public const string AclPermit = "acl.permit";

    /// <summary>A user's withdrawal of a permit.</summary>
    public const string AclRevoke = "acl.revoke";

    /// <summary>True for either form of authentication request.</summary>
    public static bool IsAuthenticationRequest(string? typ) => typ is FactsQueryRequest or AuthenticateRequest;

    /// <summary>The response <c>typ</c> that answers a request <c>typ</c>, or null when the request has none.</summary>
    public static string? ResponseTypeFor(string? requestTyp) => requestTyp switch
    {
        FactsQueryRequest => FactsQueryResponse,
        AuthenticateRequest => AuthenticateResponse,
        ConnectionsRequest => ConnectionsResponse,
        _ => null,
    };
}

/// <summary>The <c>status</c> values a device sends on the wire (spec §9).</summary>
public static class ResponseStatuses
{
    /// <summary>The person said yes.</summary>
    public const string Accepted = "accepted";

    /// <summary>The person said no.</summary>
    public const string Rejected = "rejected";

    /// <summary>The user has not connected to the app that asked.</summary>
    public const string Unauthorized = "unauthorized";
}
