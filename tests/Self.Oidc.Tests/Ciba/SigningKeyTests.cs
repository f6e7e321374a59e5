using System.Text.Json;
using Self.Oidc.Keys;
using Self.Oidc.Tests.Infrastructure;

namespace Self.Oidc.Tests.Ciba;

[Collection(OidcCollection.Name)]
public sealed class SigningKeyTests(OidcFixture fixture)
{
    [Fact]
    public async Task Restart_KeepsTheSigningKey_RotationAddsOneAndKeepsTheOldPublished()
    {
        var folder = fixture.Data.Sub("keys-" + Guid.NewGuid().ToString("N"));
        string first;
        await using (var provider = await fixture.StartProviderAsync(folder))
        {
            first = Assert.Single(await KidsAsync(provider));
        }

        await using (var restarted = await fixture.StartProviderAsync(folder))
        {
            Assert.Equal([first], await KidsAsync(restarted));
        }

        var rotated = await SelfOidcKeys.RotateAsync(folder, timeProvider: fixture.Time);
        Assert.NotEqual(first, rotated);
        await using (var afterRotation = await fixture.StartProviderAsync(folder))
        {
            var kids = await KidsAsync(afterRotation);
            Assert.Equal(rotated, kids[0]);
            Assert.Contains(first, kids);
            var jwks = await fixture.Http.GetStringAsync(new Uri(afterRotation.BaseAddress, ".well-known/jwks"));
            Assert.DoesNotContain("\"d\"", jwks, StringComparison.Ordinal);
        }
    }

    /// <summary>The kids of the JWKS, the signing one (OpenIddict's own entry) first.</summary>
    private async Task<List<string>> KidsAsync(SelfOidcServer provider)
    {
        using var jwks = JsonDocument.Parse(await fixture.Http.GetStringAsync(new Uri(provider.BaseAddress, ".well-known/jwks")));
        return [.. jwks.RootElement.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()!)];
    }
}
