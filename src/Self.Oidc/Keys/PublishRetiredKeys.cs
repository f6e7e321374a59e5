using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Self.Oidc.Keys;

/// <summary>Publishes the signing keys that no longer sign but still verify tokens they signed (public parts only).</summary>
internal sealed class PublishRetiredKeys(KeyRing keys) : IOpenIddictServerHandler<HandleJsonWebKeySetRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleJsonWebKeySetRequestContext>()
        .UseSingletonHandler<PublishRetiredKeys>()
        .SetOrder(int.MaxValue - 100_000)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    public ValueTask HandleAsync(HandleJsonWebKeySetRequestContext context)
    {
        foreach (var key in keys.Published.Skip(1))
        {
            var parameters = key.Rsa.ExportParameters(includePrivateParameters: false);
            var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(parameters) { KeyId = key.KeyId });
            jwk.Use = JsonWebKeyUseNames.Sig;
            jwk.Alg = SecurityAlgorithms.RsaSha256;
            context.Keys.Add(jwk);
        }

        return ValueTask.CompletedTask;
    }
}
