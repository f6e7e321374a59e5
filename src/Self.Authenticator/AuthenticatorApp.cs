using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Self.Device;
using Self.Protocol;
using Self.Protocol.Identifiers;

namespace Self.Authenticator;

/// <summary>The authenticator's state (the unlocked device, its requests, its records) and its HTTP endpoints.</summary>
internal sealed partial class AuthenticatorApp(AuthenticatorOptions options) : IAsyncDisposable
{
    private readonly SemaphoreSlim _deviceLock = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly RequestBoard _board = new(options.TimeProvider);
    private SelfDevice? _device;
    private LocalStore? _local;
    private Task? _pump;
    private (string? Notice, string? Error) _flash;
    private bool _superseded;

    public WebSession Session { get; } = new();

    public int Port { get; set; }

    private TimeProvider Time => options.TimeProvider;

    public void Map(WebApplication app)
    {
        app.Use(GuardAsync);
        app.MapGet("/login", Login);
        app.MapGet("/static/{name}", Static);
        app.MapGet("/manifest.webmanifest", () => Resource("manifest.webmanifest", "application/manifest+json"));
        app.MapGet("/icon-{size:int}.png", (int size) => size is 192 or 512 ? Results.Bytes(QrImages.Icon(size), "image/png") : Results.NotFound());

        app.MapGet("/", Handler(HomeAsync));
        app.MapPost("/setup", Handler(SetupAsync));
        app.MapPost("/unlock", Handler(UnlockAsync));
        app.MapGet("/events", EventsAsync);
        app.MapPost("/requests/{id}/accept", (HttpContext c, string id) => AnswerAsync(c, id, accept: true));
        app.MapPost("/requests/{id}/reject", (HttpContext c, string id) => AnswerAsync(c, id, accept: false));
        app.MapPost("/scan", Handler(ScanAsync));
        app.MapGet("/connections", Handler(ConnectionsAsync));
        app.MapPost("/connections/invitation", Handler(InvitationAsync));
        app.MapPost("/connections/{appId}/disconnect", DisconnectAsync);
        app.MapGet("/history", History);
        app.MapGet("/devices", Handler(c => DevicesAsync(c, enrollment: null)));
        app.MapPost("/devices/rotate", Handler(RotateAsync));
        app.MapPost("/devices/add", Handler(AddDeviceAsync));
        app.MapPost("/devices/{deviceId}/revoke", RevokeAsync);
        app.MapGet("/identity", Identity);
        app.MapPost("/identity/verification", Handler(VerificationAsync));
    }

    // A handler that takes only the HttpContext would bind as a RequestDelegate, which drops the IResult.
    private static Delegate Handler(Func<HttpContext, Task<IResult>> handler) => handler;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_device is { } device)
        {
            await device.DisposeAsync().ConfigureAwait(false);
        }

        if (_pump is { } pump)
        {
            await pump.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stopping.Dispose();
    }

    // ---- Who may ask -----------------------------------------------------------------------------------------

    private async Task GuardAsync(HttpContext context, RequestDelegate next)
    {
        var response = context.Response;
        response.Headers["X-Content-Type-Options"] = "nosniff";
        response.Headers["X-Frame-Options"] = "DENY";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers["Content-Security-Policy"] =
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'";

        // A page from another site that resolves its name to 127.0.0.1 (DNS rebinding) sends its own Host.
        if (!options.ListenAny && !IsLocalHost(context.Request.Host))
        {
            await Write(context, Pages.Message("Wrong address", "Open the authenticator through the link that 'self authenticator' printed."), 421).ConfigureAwait(false);
            return;
        }

        var path = context.Request.Path.Value ?? "/";
        if (path == "/login" || path.StartsWith("/static/", StringComparison.Ordinal) || path == "/manifest.webmanifest" || path.StartsWith("/icon-", StringComparison.Ordinal))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        if (!Session.IsSession(context.Request.Cookies[WebSession.CookieName]))
        {
            await Write(context, Pages.Message("Not signed in", "This page opens only through the one-time login link that 'self authenticator' printed in its terminal. Run it again for a new link."), 401).ConfigureAwait(false);
            return;
        }

        if (HttpMethods.IsPost(context.Request.Method))
        {
            string? token = context.Request.Headers["X-CSRF-Token"];
            if (token is null && context.Request.HasFormContentType)
            {
                token = (await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false))["csrf"];
            }

            if (!Session.IsCsrfToken(token))
            {
                await Write(context, Pages.Message("Refused", "The form did not carry this session's security token (CSRF). Reload the page and try again."), 403).ConfigureAwait(false);
                return;
            }
        }

        response.Headers.CacheControl = "no-store";
        await next(context).ConfigureAwait(false);
    }

    private bool IsLocalHost(HostString host) =>
        host.Port == Port && (host.Host == "127.0.0.1" || host.Host == "localhost");

    private IResult Login(HttpContext context, string? secret)
    {
        var session = Session.TryLogin(secret);
        if (session is null)
        {
            return Html(Pages.Message("Link not valid", "This login link is wrong or was already used: each link works once. Run 'self authenticator' again for a new one."), 403);
        }

        context.Response.Cookies.Append(WebSession.CookieName, session, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = false,
            Path = "/",
            IsEssential = true,
        });
        return Results.Redirect("/");
    }

    // ---- First run and unlock --------------------------------------------------------------------------------

    private async Task<IResult> HomeAsync(HttpContext context)
    {
        var csrf = Session.CsrfToken;
        if (_device is not { } device)
        {
            var vault = PassphraseVault.TryLoad(options.DataDirectory);
            return Html(vault?.Settings.SelfId is null ? Pages.Setup(csrf, options.ServerUrl, null) : Pages.Unlock(csrf, vault.Settings.SelfId, null));
        }

        await Task.CompletedTask.ConfigureAwait(false);
        var (notice, error) = TakeFlash();
        if (Volatile.Read(ref _superseded))
        {
            error ??= "Another program connected as this device and took over its connection: requests no longer arrive here. Stop it and restart 'self authenticator'.";
        }

        return Html(Pages.Home(csrf, device.SelfId, _board.Items, _board.ToJson, _board.RequirePassphrase, notice, error));
    }

    private async Task<IResult> SetupAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var csrf = Session.CsrfToken;
        string passphrase = form["passphrase"].ToString(), confirm = form["confirm"].ToString();
        var wanted = form["wanted"].ToString().Trim();
        string? problem = passphrase.Length < 8 ? "The passphrase must have at least 8 characters."
            : passphrase != confirm ? "The two passphrases differ."
            : wanted.Length > 0 && !SelfIds.IsUserId(wanted) ? $"'{wanted}' is not a Self ID: 10 or 11 digits, such as 1112223334, or leave it empty."
            : null;
        if (problem is not null)
        {
            return Html(Pages.Setup(csrf, options.ServerUrl, problem), 400);
        }

        await _deviceLock.WaitAsync(context.RequestAborted).ConfigureAwait(false);
        try
        {
            if (_device is not null || PassphraseVault.TryLoad(options.DataDirectory)?.Settings.SelfId is not null)
            {
                return Results.Redirect("/");
            }

            var vault = PassphraseVault.Create(options.DataDirectory, options.ServerUrl, options.KdfIterations, options.KdfMemoryBytes);
            var keys = vault.Derive(passphrase);
            if (Directory.Exists(vault.DeviceDirectory))
            {
                // What a registration that failed half-way left: it was never saved, so nothing points to it.
                Directory.Delete(vault.DeviceDirectory, recursive: true);
            }

            SelfDevice device;
            try
            {
                device = await SelfDevice.RegisterAsync(DeviceOptions(vault, keys, options.ServerUrl), wanted.Length > 0 ? wanted : null, context.RequestAborted).ConfigureAwait(false);
            }
            catch (SelfException ex)
            {
                return Html(Pages.Setup(csrf, options.ServerUrl, ex.Message), 400);
            }

            vault.Save(device.SelfId);
            var recovery = device.ExportRecoveryKey();
            Started(device, vault, keys);
            return Html(Pages.Created(csrf, device.SelfId, recovery));
        }
        finally
        {
            _deviceLock.Release();
        }
    }

    private async Task<IResult> UnlockAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var vault = PassphraseVault.TryLoad(options.DataDirectory);
        if (vault?.Settings.SelfId is null)
        {
            return Results.Redirect("/");
        }

        await _deviceLock.WaitAsync(context.RequestAborted).ConfigureAwait(false);
        try
        {
            if (_device is not null)
            {
                return Results.Redirect("/");
            }

            var keys = vault.Derive(form["passphrase"].ToString());
            SelfDevice device;
            try
            {
                device = await SelfDevice.OpenAsync(DeviceOptions(vault, keys, new Uri(vault.Settings.Server)), context.RequestAborted).ConfigureAwait(false);
            }
            catch (SelfException ex) when (ex.ErrorCode == "storage_key_mismatch")
            {
                return Html(Pages.Unlock(Session.CsrfToken, vault.Settings.SelfId, "That is not the passphrase of this vault."), 403);
            }
            catch (SelfException ex)
            {
                return Html(Pages.Unlock(Session.CsrfToken, vault.Settings.SelfId, ex.Message), 502);
            }

            Started(device, vault, keys);
            return Results.Redirect("/");
        }
        finally
        {
            _deviceLock.Release();
        }
    }

    private SelfDeviceOptions DeviceOptions(PassphraseVault vault, DerivedKeys keys, Uri server) => new()
    {
        ServerUrl = server,
        StorageDirectory = vault.DeviceDirectory,
        StorageKey = keys.StorageKey,
        TimeProvider = Time,
        LoggerFactory = options.LoggerFactory,
        Platform = "web-authenticator",
    };

    private void Started(SelfDevice device, PassphraseVault vault, DerivedKeys keys)
    {
        var local = new LocalStore(vault.LocalFile, keys.LocalKey);
        _local = local;
        Unlocked(vault, keys);
        device.RequestAnswered += (_, e) =>
        {
            var r = e.Request;
            local.Append(new HistoryEntry(
                Time.GetUtcNow(), r.AppId, r.AppName, r.Description, r.BindingMessage, e.Answer.ToString().ToLowerInvariant(), OriginName(r.Origin), e.ByPolicy));
            if (_board.Find(r.RequestId) is { } item)
            {
                _board.Refresh(item);
            }
        };
        device.Disconnected += (_, e) =>
        {
            if (e.Superseded)
            {
                // Another program runs this device now (a 'self user listen' of the same folder, say): say so instead of waiting in vain.
                Volatile.Write(ref _superseded, true);
            }
        };
        _device = device;
        _pump = Task.Run(() => PumpAsync(device, _stopping.Token));
    }

    private async Task PumpAsync(SelfDevice device, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var request in device.ReadRequestsAsync(cancellationToken).ConfigureAwait(false))
            {
                _board.Add(request);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    // ---- History, devices, identity --------------------------------------------------------------------------

    private IResult History() => _device is { } device && _local is { } local
        ? Html(Pages.History(Session.CsrfToken, device.SelfId, local.History))
        : Results.Redirect("/");

    private async Task<IResult> DevicesAsync(HttpContext context, string? enrollment)
    {
        if (_device is not { } device)
        {
            return Results.Redirect("/");
        }

        var (notice, error) = TakeFlash();
        var devices = await device.GetDevicesAsync(context.RequestAborted).ConfigureAwait(false);
        return Html(Pages.Devices(Session.CsrfToken, device.SelfId, device.DeviceId, device.KeyId, devices, enrollment, notice, error));
    }

    private Task<IResult> RotateAsync(HttpContext context) => DeviceChangeAsync(context, async device =>
    {
        await device.RotateKeyAsync(context.RequestAborted).ConfigureAwait(false);
        return "This device has a new key; the old one is revoked.";
    });

    private async Task<IResult> AddDeviceAsync(HttpContext context)
    {
        if (_device is not { } device)
        {
            return Results.Redirect("/");
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var id = form["device"].ToString().Trim();
        try
        {
            var enrollment = await device.AddDeviceAsync(id.Length == 0 ? null : id, context.RequestAborted).ConfigureAwait(false);
            _flash = ($"Added device {enrollment.DeviceId}.", null);
            return await DevicesAsync(context, $"{enrollment.SelfId} {enrollment.DeviceId} {enrollment.DeviceSecret}").ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SelfException or ArgumentException)
        {
            _flash = (null, ex.Message);
            return Results.Redirect("/devices");
        }
    }

    private Task<IResult> RevokeAsync(HttpContext context, string deviceId) => DeviceChangeAsync(context, async device =>
    {
        await device.RevokeDeviceAsync(deviceId, context.RequestAborted).ConfigureAwait(false);
        return $"Revoked device {deviceId}: it can no longer act for you.";
    });

    private async Task<IResult> DeviceChangeAsync(HttpContext context, Func<SelfDevice, Task<string>> change)
    {
        if (_device is not { } device)
        {
            return Results.Redirect("/");
        }

        try
        {
            _flash = (await change(device).ConfigureAwait(false), null);
        }
        catch (Exception ex) when (ex is SelfException or ArgumentException or InvalidOperationException)
        {
            _flash = (null, ex.Message);
        }

        await Task.Yield();
        return Results.Redirect("/devices");
    }

    private IResult Identity()
    {
        if (_device is not { } device)
        {
            return Results.Redirect("/");
        }

        var (notice, error) = TakeFlash();
        return Html(Pages.Identity(Session.CsrfToken, device.SelfId, QrImages.Svg(device.SelfId), _board.RequirePassphrase, notice, error));
    }

    // ---- Plumbing --------------------------------------------------------------------------------------------

    private (string? Notice, string? Error) TakeFlash()
    {
        var flash = _flash;
        _flash = default;
        return flash;
    }

    private static string OriginName(RequestOrigin origin) => origin switch
    {
        RequestOrigin.QrCode => "QR code",
        RequestOrigin.DeepLink => "link",
        _ => "push",
    };

    private static IResult Html(string html, int status = 200) => Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);

    private static Task Write(HttpContext context, string html, int status)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync(html);
    }

    private static IResult Static(string name) => name switch
    {
        "app.css" => Resource(name, "text/css; charset=utf-8"),
        "app.js" => Resource(name, "text/javascript; charset=utf-8"),
        "icon.svg" => Resource(name, "image/svg+xml"),
        _ => Results.NotFound(),
    };

    private static IResult Resource(string name, string contentType)
    {
        var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("wwwroot/" + name);
        return stream is null ? Results.NotFound() : Results.Stream(stream, contentType);
    }

    internal static string Format(DateTimeOffset at) => at.ToString("u", CultureInfo.InvariantCulture);
}
