using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Self.AspNetCore.Tests.Handler;

/// <summary>The scheme's options: from code, from configuration, and validated with a message that says what to fix.</summary>
public sealed class OptionsTests
{
    [Fact]
    public void AddSelf_ConfigurationSection_BindsPathsExpiryTextsAndNumberMatching()
    {
        var section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Authentication:Self:LoginPath"] = "/login",
            ["Authentication:Self:StatusPath"] = "/login/status",
            ["Authentication:Self:CallbackPath"] = "/login/done",
            ["Authentication:Self:Expiry"] = "00:01:30",
            ["Authentication:Self:Description"] = "Sign in to the bookshop",
            ["Authentication:Self:BindingMessage"] = "blue-otter",
            ["Authentication:Self:NumberMatching"] = "false",
        }).Build().GetSection("Authentication:Self");
        var services = new ServiceCollection().AddLogging();
        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie().AddSelf(section);
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptionsMonitor<SelfAuthenticationOptions>>().Get(SelfAuthenticationDefaults.AuthenticationScheme);

        Assert.Equal(new PathString("/login"), options.LoginPath);
        Assert.Equal(new PathString("/login/status"), options.StatusPath);
        Assert.Equal(new PathString("/login/done"), options.CallbackPath);
        Assert.Equal(TimeSpan.FromSeconds(90), options.Expiry);
        Assert.Equal("Sign in to the bookshop", options.Description);
        Assert.Equal("blue-otter", options.BindingMessage);
        Assert.False(options.NumberMatching);
        Assert.Equal(CookieAuthenticationDefaults.AuthenticationScheme, options.SignInScheme);
        Assert.NotNull(options.StateDataFormat);
    }

    [Fact]
    public void Defaults_NumberMatchingOnAndTheUsualPaths()
    {
        var options = new SelfAuthenticationOptions();

        Assert.True(options.NumberMatching);
        Assert.True(options.AllowQrCode);
        Assert.Equal(new PathString("/signin-self"), options.LoginPath);
        Assert.Equal(new PathString("/signin-self/status"), options.StatusPath);
        Assert.Equal(new PathString("/signin-self/callback"), options.CallbackPath);
        Assert.Equal(TimeSpan.FromMinutes(2), options.Expiry);
    }

    [Theory]
    [InlineData("expiry", "Expiry must be positive")]
    [InlineData("paths", "three different paths")]
    [InlineData("binding", "BindingMessage must be 1 to 64")]
    public void Validate_BadOption_SaysWhatToFix(string bad, string expected)
    {
        var options = new SelfAuthenticationOptions { SignInScheme = "Cookies" };
        switch (bad)
        {
            case "expiry":
                options.Expiry = TimeSpan.FromHours(25);
                break;
            case "paths":
                options.StatusPath = options.LoginPath;
                break;
            default:
                options.BindingMessage = new string('x', 65);
                break;
        }

        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
