using Self.EndToEnd.Tests.Infrastructure;
using Self.Protocol.Jws;
using Self.Protocol.KeyHistory;
using Self.Protocol.Links;
using Self.Protocol.Messages;
using Self.Sdk.Authentication;

namespace Self.EndToEnd.Tests.Sdk;

/// <summary>QR codes and deep links carry a request anyone may answer, signed by the app (spec §11).</summary>
[Collection(NetworkCollection.Name)]
public sealed class QrCodeTests(NetworkFixture network) : IDisposable
{
    private readonly TempDirectory _storage = new("sdk-qr");

    public void Dispose() => _storage.Dispose();

    [Fact]
    public async Task GenerateQrCode_PayloadIsTheAppsSignedRequestForAnyone()
    {
        var (app, client) = await TestIdentities.StartClientAsync(network, _storage, name: "QR App");
        await using var _ = client;

        var qr = await client.Authentication.GenerateQrCodeAsync(new AuthenticationRequestOptions
        {
            Description = "Scan to sign in",
            BindingMessage = "blue-cat-42",
        });

        var jws = FlattenedJws.Parse(qr.Payload);
        var claims = SignedMessage.ReadClaims<AuthenticationRequestClaims>(jws);
        var reader = await TestIdentities.RegisterRawUserAsync(network);
        var appHistory = SignatureGraph.Load((await reader.Rest.GetAppAsync(app.AppId)).History);
        Assert.True(appHistory.VerifyMessage(jws, claims.Iat));
        Assert.Equal(MessageTypes.FactsQueryRequest, claims.Typ);
        Assert.Equal(app.AppId, claims.Iss);
        Assert.Equal("-", claims.Sub);
        Assert.Equal("-", claims.Aud);
        Assert.Equal(qr.ConversationId, claims.Cid);
        Assert.True(claims.Auth);
        Assert.Empty(claims.Facts);
        Assert.Equal("blue-cat-42", claims.BindingMessage);
        Assert.Equal("QR App", claims.AppName);
    }

    [Fact]
    public async Task GenerateQrCode_RendersPngSvgAndTerminalText()
    {
        var (_, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;

        var qr = await client.Authentication.GenerateQrCodeAsync();

        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, qr.ToPng()[..4]);
        Assert.Contains("<svg", qr.ToSvg(), StringComparison.Ordinal);
        var text = qr.ToTerminalText();
        Assert.Contains('█', text);
        Assert.True(text.Split('\n').Length > 10);
        // Level L holds the whole request: the module grid is square and large enough for ~1 KB of text.
        Assert.True(qr.Modules.Count >= 57);
        Assert.All(qr.Modules, row => Assert.Equal(qr.Modules.Count, row.Count));
    }

    [Fact]
    public async Task GenerateDeepLink_CarriesTheSameSignedRequest()
    {
        var (_, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;

        var link = await client.Authentication.GenerateDeepLinkAsync(new Uri("https://app.example/callback"));

        Assert.StartsWith("https://links.joinself.com/?link=", link.Link.AbsoluteUri, StringComparison.Ordinal);
        var payload = DeepLink.ExtractPayload(link.Link.AbsoluteUri);
        var claims = SignedMessage.ReadClaims<AuthenticationRequestClaims>(FlattenedJws.Parse(payload));
        Assert.Equal(link.ConversationId, claims.Cid);
        Assert.Equal("-", claims.Sub);
    }

    [Fact]
    public async Task CustomConversationId_UsedAndNotReusedWhileOpen()
    {
        var (_, client) = await TestIdentities.StartClientAsync(network, _storage);
        await using var _ = client;
        var cid = "order-" + Guid.NewGuid();

        var qr = await client.Authentication.GenerateQrCodeAsync(new AuthenticationRequestOptions { ConversationId = cid });

        Assert.Equal(cid, qr.ConversationId);
        await Assert.ThrowsAsync<ArgumentException>(() =>
            client.Authentication.GenerateQrCodeAsync(new AuthenticationRequestOptions { ConversationId = cid }));
        await Assert.ThrowsAsync<ArgumentException>(() =>
            client.Authentication.GenerateQrCodeAsync(new AuthenticationRequestOptions { ConversationId = new string('x', 129) }));
    }
}
