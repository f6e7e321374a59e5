using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Self.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the Self scheme to an <see cref="AuthenticationBuilder"/>: <c>AddAuthentication(…).AddCookie().AddSelf()</c>.</summary>
public static class SelfAuthenticationExtensions
{
    /// <summary>Adds the Self scheme with its default name and options.</summary>
    public static AuthenticationBuilder AddSelf(this AuthenticationBuilder builder) =>
        builder.AddSelf(SelfAuthenticationDefaults.AuthenticationScheme, _ => { });

    /// <summary>Adds the Self scheme with its default name.</summary>
    public static AuthenticationBuilder AddSelf(this AuthenticationBuilder builder, Action<SelfAuthenticationOptions> configureOptions) =>
        builder.AddSelf(SelfAuthenticationDefaults.AuthenticationScheme, configureOptions);

    /// <summary>Adds the Self scheme with its default name, its options bound from <paramref name="configuration"/> (e.g. <c>Authentication:Self</c>).</summary>
    public static AuthenticationBuilder AddSelf(this AuthenticationBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.Configure<SelfAuthenticationOptions>(SelfAuthenticationDefaults.AuthenticationScheme, configuration);
        return builder.AddSelf(SelfAuthenticationDefaults.AuthenticationScheme, _ => { });
    }

    /// <summary>Adds the Self scheme under <paramref name="authenticationScheme"/>.</summary>
    public static AuthenticationBuilder AddSelf(this AuthenticationBuilder builder, string authenticationScheme, Action<SelfAuthenticationOptions> configureOptions) =>
        builder.AddSelf(authenticationScheme, SelfAuthenticationDefaults.DisplayName, configureOptions);

    /// <summary>Adds the Self scheme under <paramref name="authenticationScheme"/> with a display name.</summary>
    public static AuthenticationBuilder AddSelf(
        this AuthenticationBuilder builder, string authenticationScheme, string? displayName, Action<SelfAuthenticationOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddAntiforgery();
        builder.Services.AddDataProtection();
        builder.Services.AddDistributedMemoryCache();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<SelfAuthenticationOptions>, SelfPostConfigureOptions>());
        return builder.AddRemoteScheme<SelfAuthenticationOptions, SelfAuthenticationHandler>(authenticationScheme, displayName, configureOptions);
    }

    private sealed class SelfPostConfigureOptions(IDataProtectionProvider dataProtection) : IPostConfigureOptions<SelfAuthenticationOptions>
    {
        public void PostConfigure(string? name, SelfAuthenticationOptions options)
        {
            options.DataProtectionProvider ??= dataProtection;
            if (options.StateDataFormat is null)
            {
                var protector = options.DataProtectionProvider.CreateProtector(typeof(SelfAuthenticationHandler).FullName!, name ?? "", "v1");
                options.StateDataFormat = new PropertiesDataFormat(protector);
            }
        }
    }
}
