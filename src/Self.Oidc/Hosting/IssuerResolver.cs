namespace Self.Oidc.Hosting;

/// <summary>The issuer: the configured one, else the first listening address (known once Kestrel has started).</summary>
internal sealed class IssuerResolver(SelfOidcOptions options)
{
    private Uri? _listening;

    public Uri Issuer => options.Issuer ?? _listening ?? throw new InvalidOperationException("The provider has not started listening yet.");

    public void SetListening(Uri address) => _listening = address;
}
