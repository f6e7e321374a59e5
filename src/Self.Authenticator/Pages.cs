using System.Globalization;
using System.Net;
using System.Text;

namespace Self.Authenticator;

/// <summary>The HTML of every screen: plain server-rendered pages that work without script; app.js makes them live.</summary>
internal static class Pages
{
    public static string E(string? text) => WebUtility.HtmlEncode(text ?? string.Empty);

    public static string Layout(string title, string body, string? csrf, string? active = null, string? selfId = null)
    {
        var nav = new StringBuilder();
        if (csrf is not null && selfId is not null)
        {
            nav.Append("<nav>");
            foreach (var (href, label) in new[] { ("/", "Requests"), ("/connections", "Connections"), ("/history", "History"), ("/devices", "Devices"), ("/identity", "My Self ID") })
            {
                nav.Append(CultureInfo.InvariantCulture, $"<a href=\"{href}\"{(active == href ? " class=\"active\" aria-current=\"page\"" : string.Empty)}>{label}</a>");
            }

            nav.Append("</nav>");
        }

        return $"""
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="csrf-token" content="{E(csrf)}">
            <meta name="theme-color" content="#1f4ed8">
            <title>{E(title)} · Self authenticator</title>
            <link rel="manifest" href="/manifest.webmanifest">
            <link rel="icon" href="/icon-192.png">
            <link rel="stylesheet" href="/static/app.css">
            <script src="/static/app.js" defer></script>
            </head>
            <body>
            <header><a class="brand" href="/">Self authenticator</a>{(selfId is null ? string.Empty : $"<span class=\"who\">{E(selfId)}</span>")}</header>
            {nav}
            <main>
            {body}
            </main>
            </body>
            </html>
            """;
    }

    public static string Csrf(string csrf) => $"<input type=\"hidden\" name=\"csrf\" value=\"{E(csrf)}\">";

    public static string Message(string title, string text) =>
        Layout(title, $"<section class=\"card\"><h1>{E(title)}</h1><p>{E(text)}</p></section>", csrf: null);

    public static string Setup(string csrf, Uri server, string? error) => Layout("Create your identity", $"""
        <section class="card">
        <h1>Create your Self identity</h1>
        <p>This creates your identity on <code>{E(server.ToString())}</code>, a key for this device, and a vault that keeps
        them encrypted on this computer. The vault opens only with your passphrase: it is not stored anywhere.</p>
        {Error(error)}
        <form method="post" action="/setup" class="stack">
        {Csrf(csrf)}
        <label>Self ID you would like (optional, 10 or 11 digits)<input name="wanted" inputmode="numeric" pattern="[0-9]{"{10,11}"}" autocomplete="off"></label>
        <label>Passphrase (at least 8 characters)<input type="password" name="passphrase" minlength="8" required autocomplete="new-password"></label>
        <label>Passphrase again<input type="password" name="confirm" minlength="8" required autocomplete="new-password"></label>
        <button type="submit" class="primary">Create identity</button>
        </form>
        </section>
        """, csrf);

    public static string Unlock(string csrf, string? selfId, string? error) => Layout("Unlock", $"""
        <section class="card">
        <h1>Unlock your authenticator</h1>
        <p>Identity <strong>{E(selfId)}</strong>. Type your passphrase to open the vault on this computer.</p>
        {Error(error)}
        <form method="post" action="/unlock" class="stack">
        {Csrf(csrf)}
        <label>Passphrase<input type="password" name="passphrase" required autofocus autocomplete="current-password"></label>
        <button type="submit" class="primary">Unlock</button>
        </form>
        </section>
        """, csrf);

    public static string Created(string csrf, string selfId, string recoveryKey) => Layout("Identity created", $"""
        <section class="card">
        <h1>Your Self ID is ready</h1>
        <p class="selfid" id="self-id">{E(selfId)}</p>
        <h2>Your recovery key — shown only this once</h2>
        <p>If this computer and every other device of yours are lost, this key takes your identity back
        (<code>self user recover</code> or another authenticator). Write it down and keep it offline. Anyone who has it
        can take over your identity. It is not shown again.</p>
        <p class="secret" id="recovery-key">{E(recoveryKey)}</p>
        <form method="get" action="/"><button type="submit" class="primary">I have written it down</button></form>
        </section>
        """, csrf, selfId: selfId);

    public static string Home(string csrf, string selfId, IReadOnlyList<BoardItem> items, Func<BoardItem, string> json, bool requirePassphrase, string? notice, string? error)
    {
        var cards = new StringBuilder();
        foreach (var item in items)
        {
            cards.Append(CultureInfo.InvariantCulture, $"<script type=\"application/json\" class=\"initial-request\">{json(item).Replace("</", "<\\/", StringComparison.Ordinal)}</script>");
        }

        return Layout("Requests", $"""
            {Notice(notice)}{Error(error)}
            <section>
            <div class="row"><h1>Requests</h1><button type="button" id="notify" class="small" hidden>Notify me</button></div>
            <p id="live" class="muted">Requests appear here as they arrive.</p>
            <div id="requests" data-csrf="{E(csrf)}"></div>
            <noscript><p>Without JavaScript, reload to see new requests.</p>{NoScriptCards(csrf, items, requirePassphrase)}</noscript>
            {cards}
            </section>
            <section class="card">
            <h2>Scan a QR code or open a link</h2>
            <p class="muted">An app's sign-in QR code or deep link, or its invitation to connect.</p>
            {ScanForm(csrf)}
            </section>
            """, csrf, "/", selfId);
    }

    public static string ScanForm(string csrf) => $"""
        <form method="post" action="/scan" enctype="multipart/form-data" class="stack" id="scan-form">
        {Csrf(csrf)}
        <label>Paste the QR code's text or the link<textarea name="text" rows="3" autocomplete="off"></textarea></label>
        <label>…or choose a picture of the QR code<input type="file" name="image" accept="image/*"></label>
        <button type="submit">Read it</button>
        </form>
        """;

    private static string NoScriptCards(string csrf, IReadOnlyList<BoardItem> items, bool requirePassphrase)
    {
        var html = new StringBuilder();
        foreach (var item in items.Where(i => i.Request.Answer is null))
        {
            var r = item.Request;
            html.Append(CultureInfo.InvariantCulture, $"""
                <article class="card"><h3>{E(r.AppName ?? r.AppId)}</h3><p>{E(r.Description)}</p>
                <form method="post" action="/requests/{E(r.RequestId)}/accept">{Csrf(csrf)}{(NumberMatching.IsRequired(r) ? "<input name=\"number\" inputmode=\"numeric\" maxlength=\"2\" required>" : string.Empty)}{(requirePassphrase ? "<input type=\"password\" name=\"passphrase\" required autocomplete=\"current-password\" aria-label=\"Your passphrase\">" : string.Empty)}<button class="primary">Accept</button></form>
                <form method="post" action="/requests/{E(r.RequestId)}/reject">{Csrf(csrf)}<button>Reject</button></form></article>
                """);
        }

        return html.ToString();
    }

    public static string Invitation(string csrf, string selfId, string text, Self.Device.AppInvitation invitation) => Layout("Connect to an app", $"""
        <section class="card">
        <h1>Connect to {E(invitation.AppName ?? invitation.AppId)}?</h1>
        <dl><dt>App</dt><dd>{E(invitation.AppName ?? "(no name)")} <code>{E(invitation.AppId)}</code></dd>
        <dt>Why</dt><dd>{E(invitation.Description ?? "-")}</dd>
        <dt>Invitation expires</dt><dd>{invitation.ExpiresAt.ToString("u", CultureInfo.InvariantCulture)}</dd></dl>
        <p>Once connected, this app may send you sign-in requests. You can disconnect it at any time.</p>
        <div class="actions">
        <form method="post" action="/connections/invitation">{Csrf(csrf)}<input type="hidden" name="text" value="{E(text)}"><input type="hidden" name="answer" value="accept"><button class="primary" id="accept-invitation">Connect</button></form>
        <form method="post" action="/connections/invitation">{Csrf(csrf)}<input type="hidden" name="text" value="{E(text)}"><input type="hidden" name="answer" value="decline"><button>Decline</button></form>
        </div>
        </section>
        """, csrf, "/connections", selfId);

    public static string Connections(string csrf, string selfId, IReadOnlyList<(string AppId, string? Name, DateTimeOffset? Since)> connections, string? notice, string? error)
    {
        var rows = new StringBuilder();
        foreach (var c in connections)
        {
            rows.Append(CultureInfo.InvariantCulture, $"""
                <li class="connection"><div><strong class="app-name">{E(c.Name ?? "(no name)")}</strong> <code>{E(c.AppId)}</code><br>
                <span class="muted since">{(c.Since is { } since ? "connected since " + since.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture) : "connected from another device")}</span></div>
                <form method="post" action="/connections/{E(c.AppId)}/disconnect">{Csrf(csrf)}<button class="danger small">Disconnect</button></form></li>
                """);
        }

        return Layout("Connections", $"""
            {Notice(notice)}{Error(error)}
            <section class="card">
            <h1>Connections</h1>
            {(connections.Count == 0 ? "<p class=\"muted\" id=\"no-connections\">No app is connected yet: paste an app's invitation below.</p>" : $"<ul class=\"list\" id=\"connections\">{rows}</ul>")}
            </section>
            <section class="card">
            <h2>Connect to an app</h2>
            <p class="muted">Paste the invitation link or QR text the app shows, or choose a picture of its QR code.</p>
            {ScanForm(csrf)}
            </section>
            """, csrf, "/connections", selfId);
    }

    public static string History(string csrf, string selfId, IReadOnlyList<HistoryEntry> entries)
    {
        var rows = new StringBuilder();
        foreach (var h in entries)
        {
            rows.Append(CultureInfo.InvariantCulture, $"""
                <tr><td>{h.AnsweredAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}</td><td>{E(h.AppName ?? h.AppId)}</td>
                <td>{E(h.Description ?? "-")}{(h.BindingMessage is null ? string.Empty : $"<br><span class=\"muted\">{E(h.BindingMessage)}</span>")}</td>
                <td class="answer {E(h.Answer)}">{E(h.Answer)}{(h.ByPolicy ? " (by the device)" : string.Empty)}</td><td>{E(h.Origin)}</td></tr>
                """);
        }

        return Layout("History", $"""
            <section class="card">
            <h1>History</h1>
            <p class="muted">Every answer this device gave, kept encrypted on this computer with your passphrase.</p>
            {(entries.Count == 0 ? "<p id=\"no-history\">No request answered yet.</p>" : $"<div class=\"scroll\"><table id=\"history\"><thead><tr><th>When (UTC)</th><th>App</th><th>What was asked</th><th>Answer</th><th>How</th></tr></thead><tbody>{rows}</tbody></table></div>")}
            </section>
            """, csrf, "/history", selfId);
    }

    public static string Devices(string csrf, string selfId, string deviceId, string keyId, IReadOnlyList<string> devices, string? enrollment, string? notice, string? error)
    {
        var rows = new StringBuilder();
        foreach (var d in devices)
        {
            rows.Append(CultureInfo.InvariantCulture, $"<li><span><strong>{E(d)}</strong>{(d == deviceId ? " (this device)" : string.Empty)}</span>");
            if (d != deviceId)
            {
                rows.Append(CultureInfo.InvariantCulture, $"<form method=\"post\" action=\"/devices/{E(d)}/revoke\">{Csrf(csrf)}<button class=\"danger small\">Revoke</button></form>");
            }

            rows.Append("</li>");
        }

        return Layout("Devices", $"""
            {Notice(notice)}{Error(error)}
            <section class="card">
            <h1>This device</h1>
            <dl><dt>Device id</dt><dd id="device-id">{E(deviceId)}</dd><dt>Current key</dt><dd><code id="key-id">{E(keyId)}</code></dd></dl>
            <form method="post" action="/devices/rotate">{Csrf(csrf)}<button>Rotate this device's key</button></form>
            </section>
            <section class="card">
            <h2>Devices of {E(selfId)}</h2>
            <ul class="list" id="devices">{rows}</ul>
            <form method="post" action="/devices/add" class="row">{Csrf(csrf)}<input name="device" placeholder="new device id (optional)" autocomplete="off"><button>Add a device</button></form>
            {(enrollment is null ? string.Empty : $"<p>Give this to the new device (shown once; it is that device's secret key):</p><p class=\"secret\" id=\"enrollment\">{E(enrollment)}</p>")}
            </section>
            """, csrf, "/devices", selfId);
    }

    public static string Identity(string csrf, string selfId, string qrSvg, bool verifyBeforeAccept, string? notice, string? error) => Layout("My Self ID", $"""
        {Notice(notice)}{Error(error)}
        <section class="card center">
        <h1>My Self ID</h1>
        <p class="selfid" id="self-id">{E(selfId)}</p>
        <button type="button" class="copy" data-copy="{E(selfId)}">Copy</button>
        <div class="qr">{qrSvg}</div>
        <p class="muted">Give this number to an app that asks for your Self ID. It is not a secret.</p>
        </section>
        <section class="card" id="verification">
        <h2>Before each Accept</h2>
        <p class="muted">Ask for your passphrase again before this device accepts a request (user verification), so that
        nobody who finds this page open can accept for you. It is {(verifyBeforeAccept ? "<strong>on</strong>" : "off")}.</p>
        <form method="post" action="/identity/verification" class="stack">
        {Csrf(csrf)}
        <label class="check"><input type="checkbox" name="enabled" value="on"{(verifyBeforeAccept ? " checked" : string.Empty)}> Ask for my passphrase before each Accept</label>
        <label>Your passphrase, to change this<input type="password" name="passphrase" required autocomplete="current-password"></label>
        <button type="submit">Save</button>
        </form>
        </section>
        """, csrf, "/identity", selfId);

    private static string Error(string? error) => error is null ? string.Empty : $"<p class=\"error\" role=\"alert\">{E(error)}</p>";

    private static string Notice(string? notice) => notice is null ? string.Empty : $"<p class=\"notice\" role=\"status\">{E(notice)}</p>";
}
