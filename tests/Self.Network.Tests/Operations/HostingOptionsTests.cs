using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Self.Network.Hosting;
using Self.Network.Tests.Infrastructure;

namespace Self.Network.Tests.Operations;

/// <summary>HTTPS with a certificate from Kestrel's configuration, and forwarded headers honoured only when enabled.</summary>
public sealed class HostingOptionsTests
{
    [Fact]
    public async Task Https_CertificateFromKestrelConfiguration_ServesTlsWithThatCertificate()
    {
        var (path, thumbprint) = SelfSignedCertificate("pfx-password-for-test");
        var kestrel = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Certificates:Default:Path"] = path,
            ["Certificates:Default:Password"] = "pfx-password-for-test",
        }).Build();
        await using var server = await SelfNetworkServer.StartAsync(
            new SelfNetworkOptions { Urls = "https://127.0.0.1:0", DataDirectory = TempDirectory.Create() },
            new SelfNetworkHostOptions { Kestrel = kestrel });
        string? seen = null;
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            {
                seen = certificate?.Thumbprint;
                return certificate?.Thumbprint == thumbprint;
            },
        };
        using var http = new HttpClient(handler) { BaseAddress = server.BaseAddress };

        var response = await http.CallAsync(HttpMethod.Get, "/readyz");

        Assert.Equal("https", server.BaseAddress.Scheme);
        Assert.Equal("wss", server.MessagingUri.Scheme);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(thumbprint, seen);
    }

    [Fact]
    public async Task Https_NoCertificate_FailsToStart()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => SelfNetworkServer.StartAsync(
            new SelfNetworkOptions { Urls = "https://127.0.0.1:0", DataDirectory = TempDirectory.Create() },
            new SelfNetworkHostOptions { Kestrel = new ConfigurationBuilder().Build() }));

        Assert.Contains("certificate", failure.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(false, null, HttpStatusCode.TooManyRequests)]
    [InlineData(true, null, HttpStatusCode.OK)]
    [InlineData(true, "10.1.2.3", HttpStatusCode.TooManyRequests)]
    public async Task ForwardedFor_PerClientLimit_CountsTheForwardedAddressOnlyFromATrustedProxy(bool enabled, string? knownProxy, HttpStatusCode second)
    {
        await using var server = await SelfNetworkServer.StartAsync(
            new SelfNetworkOptions
            {
                Urls = "http://127.0.0.1:0",
                DataDirectory = TempDirectory.Create(),
                RateLimits = new RateLimitOptions { IdentitiesPerClient = 1 },
            },
            new SelfNetworkHostOptions
            {
                ForwardedHeaders = new ForwardedHeadersSettings { Enabled = enabled, KnownProxies = knownProxy is null ? [] : [knownProxy] },
            });
        using var first = Client(server, "203.0.113.1");
        using var other = Client(server, "203.0.113.2");
        await TestIdentity.RegisterUserAsync(first);

        var (root, _, _) = TestIdentity.NewRoot();
        var response = await other.CallAsync(HttpMethod.Post, "/v1/identities", json: Rest.IdentityEndpointsTests.RegistrationBody(root, null));

        Assert.Equal(second, response.Status);
    }

    [Fact]
    public void ForwardedHeaders_BadProxyOrNetwork_IsRefusedNamingTheSetting()
    {
        Assert.Contains("KnownProxies", Assert.Throws<ArgumentException>(() => new ForwardedHeadersSettings { KnownProxies = ["proxy.local"] }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("KnownNetworks", Assert.Throws<ArgumentException>(() => new ForwardedHeadersSettings { KnownNetworks = ["10.0.0.0"] }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("ForwardLimit", Assert.Throws<ArgumentException>(() => new ForwardedHeadersSettings { ForwardLimit = 0 }.Validate()).Message, StringComparison.Ordinal);
    }

    private static HttpClient Client(SelfNetworkServer server, string forwardedFor)
    {
        var http = new HttpClient { BaseAddress = server.BaseAddress };
        http.DefaultRequestHeaders.Add("X-Forwarded-For", forwardedFor);
        return http;
    }

    /// <summary>A self-signed certificate for 127.0.0.1 in a password-protected PFX file; returns its path and thumbprint.</summary>
    internal static (string Path, string Thumbprint) SelfSignedCertificate(string password)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = TimeProvider.System.GetUtcNow();
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        var path = System.IO.Path.Combine(TempDirectory.Create(), "server.pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, password));
        return (path, certificate.Thumbprint);
    }
}
