namespace Self.Sdk.Authentication;

/// <summary>How an authentication request ended.</summary>
public enum AuthenticationStatus
{
    /// <summary>The user approved the request on their device.</summary>
    Accepted,

    /// <summary>The user declined the request.</summary>
    Rejected,

    /// <summary>The user has not connected to this app, so their device refused to answer.</summary>
    Unauthorized,

    /// <summary>No answer arrived before the request's expiry.</summary>
    Expired,

    /// <summary>The request could not be delivered.</summary>
    Errored,
}
