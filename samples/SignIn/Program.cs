// The README's "Sign in with Self for ASP.NET Core" section, as code that compiles: a site whose home page needs a
// signed-in user. Configure the app in appsettings.json (section "Self") or environment variables (Self__AppId, …):
//
//   dotnet run --project samples/SignIn
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.Cookies;
using Self.Sdk;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddSelfClient(builder.Configuration.GetSection("Self"));
builder.Services.AddAuthentication(o => (o.DefaultScheme, o.DefaultChallengeScheme) = (CookieAuthenticationDefaults.AuthenticationScheme, "Self"))
    .AddCookie().AddSelf();
builder.Services.AddAuthorization().AddHealthChecks().AddSelfClientHealthCheck();
var app = builder.Build();
app.MapGet("/", (ClaimsPrincipal user) => $"Signed in as {user.Identity!.Name}").RequireAuthorization();
app.MapHealthChecks("/healthz");
app.Run();

/// <summary>The sample's entry point, visible to the browser tests that host it.</summary>
public partial class Program;
