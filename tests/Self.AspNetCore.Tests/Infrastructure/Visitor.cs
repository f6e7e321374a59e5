using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Self.AspNetCore.Tests.Infrastructure;

/// <summary>A person's browser, step by step: its own cookie jar, each redirect seen by the test.</summary>
public sealed partial class Visitor(HttpClient http) : IDisposable
{
    /// <summary>How long a test waits for something that should happen promptly (a safety net, not a timing assumption).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public HttpClient Http { get; } = http;

    /// <summary>The last page's HTML.</summary>
    public string Page { get; private set; } = "";

    public async Task<HttpResponseMessage> GetAsync(string url, string? accept = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (accept is not null)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        }

        var response = await Http.SendAsync(request);
        Page = await response.Content.ReadAsStringAsync();
        return response;
    }

    /// <summary>Opens the protected page and follows the challenge to the login page; returns the login page's URL.</summary>
    public async Task<string> OpenProtectedPageAsync(string path = "/")
    {
        var challenge = await GetAsync(path);
        Assert.True(challenge.StatusCode == HttpStatusCode.Redirect, $"{(int)challenge.StatusCode}: {Page[..Math.Min(Page.Length, 3000)]}");
        var login = Location(challenge);
        Assert.StartsWith("/signin-self?state=", login, StringComparison.Ordinal);
        var page = await GetAsync(login);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        return login;
    }

    /// <summary>Posts the form of the current page with <paramref name="mode"/> (push, qr, restart) and the Self ID.</summary>
    public async Task<HttpResponseMessage> SubmitAsync(string mode, string? selfId = null, bool withAntiforgery = true, string? state = null)
    {
        var fields = new Dictionary<string, string>
        {
            ["state"] = state ?? Field("state"),
            ["mode"] = mode,
        };
        if (withAntiforgery)
        {
            fields["__RequestVerificationToken"] = Field("__RequestVerificationToken");
        }

        if (selfId is not null)
        {
            fields["selfId"] = selfId;
        }

        var response = await Http.PostAsync("/signin-self", new FormUrlEncodedContent(fields));
        Page = await response.Content.ReadAsStringAsync();
        return response;
    }

    /// <summary>Polls the status endpoint (the page's fallback) until the request ended; returns the status and the callback URL.</summary>
    public async Task<(string Status, string? Next)> WaitForOutcomeAsync(string waitingUrl)
    {
        var statusUrl = waitingUrl.Replace("/signin-self?", "/signin-self/status?", StringComparison.Ordinal);
        (string Status, string? Next) outcome = default;
        await Polling.WaitUntilAsync(
            async () =>
            {
                using var response = await Http.GetAsync(statusUrl);
                response.EnsureSuccessStatusCode();
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                if (!json.RootElement.GetProperty("terminal").GetBoolean())
                {
                    return false;
                }

                outcome = (json.RootElement.GetProperty("status").GetString()!, json.RootElement.TryGetProperty("next", out var next) ? next.GetString() : null);
                return true;
            },
            Patience,
            $"the sign-in at {statusUrl} has ended");
        return outcome;
    }

    /// <summary>The value of the hidden or text field <paramref name="name"/> on the current page.</summary>
    public string Field(string name)
    {
        var match = Regex.Match(Page, "name=\"" + Regex.Escape(name) + "\"[^>]*value=\"([^\"]*)\"");
        Assert.True(match.Success, $"The page has no field {name}:\n{Page}");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    /// <summary>The value of the first attribute <paramref name="name"/> on the current page.</summary>
    public string? Attribute(string name)
    {
        var match = Regex.Match(Page, Regex.Escape(name) + "=\"([^\"]*)\"");
        return match.Success ? WebUtility.HtmlDecode(match.Groups[1].Value) : null;
    }

    /// <summary>The number the waiting page asks to type on the device; null when it shows none.</summary>
    public string? Number => Regex.Match(Page, "id=\"number\"[^>]*>([0-9]+)<") is { Success: true } m ? m.Groups[1].Value : null;

    /// <summary>The stage the login page shows (data-stage).</summary>
    public string? Stage => Attribute("data-stage");

    public static string Location(HttpResponseMessage response) =>
        response.Headers.Location?.OriginalString ?? throw new InvalidOperationException($"No Location header on a {(int)response.StatusCode} response.");

    public void Dispose() => Http.Dispose();
}
