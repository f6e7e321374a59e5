using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Self.EndToEnd.Bench;
using Self.Oidc.Clients;

namespace Self.Oidc.Bench;

/// <summary>
/// What a CIBA relying party does, over plain HTTP: a backchannel request with <c>client_secret_basic</c>, then the
/// token request — after each <c>interval</c> (poll), or when the provider pings (ping).
/// </summary>
internal sealed class CibaFlows(HttpClient http, Uri provider, PingReceiver pings, IReadOnlyList<string> users)
{
    private const string Grant = "urn:openid:params:grant-type:ciba";
    private static readonly TimeSpan PingPatience = TimeSpan.FromMinutes(2);
    private readonly Uri _backchannel = new(provider, "connect/ciba");
    private readonly Uri _token = new(provider, "connect/token");
    private int _next;

    /// <summary>Runs <paramref name="concurrency"/> flows at a time, back to back, until <paramref name="duration"/> has passed; returns the time until the last ended.</summary>
    public async Task<TimeSpan> RunAsync(OidcClientCreated client, bool ping, int concurrency, TimeSpan duration, LatencyRecorder recorder)
    {
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (Stopwatch.GetElapsedTime(started) < duration)
            {
                var user = users[(int)((uint)Interlocked.Increment(ref _next) % (uint)users.Count)];
                var begun = Stopwatch.GetTimestamp();
                try
                {
                    var error = ping ? await PingFlowAsync(client, user) : await PollFlowAsync(client, user);
                    if (error is null)
                    {
                        recorder.Record(Stopwatch.GetElapsedTime(begun));
                    }
                    else
                    {
                        recorder.Fail(error);
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or TimeoutException or JsonException)
                {
                    recorder.Fail(ex.GetType().Name);
                }
            }
        }));
        return Stopwatch.GetElapsedTime(started);
    }

    private async Task<string?> PollFlowAsync(OidcClientCreated client, string user)
    {
        var (authReqId, interval, error) = await StartAsync(client, user, notificationToken: null);
        if (authReqId is null)
        {
            return error;
        }

        while (true)
        {
            // CIBA §7.3: wait at least the interval between token requests (the first one included).
            await Task.Delay(TimeSpan.FromSeconds(interval));
            var (done, tokenError) = await RedeemAsync(client, authReqId);
            switch (tokenError)
            {
                case null when done:
                    return null;
                case "authorization_pending":
                    continue;
                case "slow_down":
                    interval += 5;
                    continue;
                default:
                    return tokenError ?? "no tokens";
            }
        }
    }

    private async Task<string?> PingFlowAsync(OidcClientCreated client, string user)
    {
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        var pinged = pings.Expect(token);
        var (authReqId, _, error) = await StartAsync(client, user, token);
        if (authReqId is null)
        {
            pings.Forget(token);
            return error;
        }

        var notified = await pinged.WaitAsync(PingPatience);
        if (notified != authReqId)
        {
            return "ping for another auth_req_id";
        }

        var (done, tokenError) = await RedeemAsync(client, authReqId);
        return done ? null : tokenError ?? "no tokens";
    }

    private async Task<(string? AuthReqId, int Interval, string? Error)> StartAsync(OidcClientCreated client, string user, string? notificationToken)
    {
        var form = new Dictionary<string, string> { ["scope"] = "openid", ["login_hint"] = user };
        if (notificationToken is not null)
        {
            form["client_notification_token"] = notificationToken;
        }

        using var response = await PostAsync(client, _backchannel, form);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        if (!response.IsSuccessStatusCode)
        {
            return (null, 0, "backchannel " + (json.RootElement.TryGetProperty("error", out var e) ? e.GetString() : ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        return (json.RootElement.GetProperty("auth_req_id").GetString(), json.RootElement.TryGetProperty("interval", out var i) ? i.GetInt32() : 5, null);
    }

    private async Task<(bool Done, string? Error)> RedeemAsync(OidcClientCreated client, string authReqId)
    {
        using var response = await PostAsync(client, _token, new Dictionary<string, string> { ["grant_type"] = Grant, ["auth_req_id"] = authReqId });
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        if (response.IsSuccessStatusCode)
        {
            return (json.RootElement.TryGetProperty("id_token", out _), null);
        }

        return (false, json.RootElement.TryGetProperty("error", out var e) ? e.GetString() : "token " + (int)response.StatusCode);
    }

    private async Task<HttpResponseMessage> PostAsync(OidcClientCreated client, Uri endpoint, Dictionary<string, string> form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new FormUrlEncodedContent(form) };
        // client_secret_basic: id and secret form-encoded, then Base64 (RFC 6749 §2.3.1).
        var credentials = Uri.EscapeDataString(client.ClientId) + ":" + Uri.EscapeDataString(client.ClientSecret!);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));
        return await http.SendAsync(request);
    }
}
