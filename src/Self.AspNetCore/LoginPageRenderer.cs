using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http;

namespace Self.AspNetCore;

/// <summary>The built-in login page: server-rendered HTML, one stylesheet, one small script for the live status.</summary>
internal static class LoginPageRenderer
{
    private static readonly HtmlEncoder Html = HtmlEncoder.Default;

    public static string Render(SelfLoginPage page, string basePath)
    {
        var site = E(page.SiteName);
        var b = new StringBuilder(4096);
        b.Append("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<meta name=\"robots\" content=\"noindex\">\n")
            .Append("<title>").Append(Title(page)).Append(" · ").Append(site).Append("</title>\n")
            .Append("<link rel=\"stylesheet\" href=\"").Append(E(basePath)).Append("/self.css\">\n")
            .Append("<script src=\"").Append(E(basePath)).Append("/self.js\" defer></script>\n")
            .Append("</head>\n<body>\n<main class=\"card\" aria-labelledby=\"title\" data-stage=\"")
            .Append(page.Stage.ToString().ToLowerInvariant()).Append("\">\n")
            .Append("<p class=\"brand\" aria-hidden=\"true\"><span class=\"mark\">S</span> Sign in with Self</p>\n")
            .Append("<h1 id=\"title\">").Append(Title(page)).Append("</h1>\n");

        switch (page.Stage)
        {
            case SelfLoginStage.Enter:
                Enter(b, page);
                break;
            case SelfLoginStage.Waiting:
                Waiting(b, page);
                break;
            case SelfLoginStage.QrCode:
                QrCode(b, page);
                break;
            case SelfLoginStage.NotConnected:
                NotConnected(b, page);
                break;
            default:
                Error(b, page);
                break;
        }

        b.Append("<p class=\"footer\">No password: your device confirms it is you.</p>\n</main>\n</body>\n</html>\n");
        return b.ToString();
    }

    public static async Task WriteAssetAsync(HttpContext context, string name, string contentType)
    {
        await using var stream = typeof(LoginPageRenderer).Assembly.GetManifestResourceStream("Self.AspNetCore.Assets." + name)
            ?? throw new InvalidOperationException($"The login page asset {name} is missing from the assembly.");
        context.Response.ContentType = contentType;
        context.Response.Headers.CacheControl = "public, max-age=3600";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        context.Response.ContentLength = stream.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await stream.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
    }

    private static string Title(SelfLoginPage page) => page.Stage switch
    {
        SelfLoginStage.Waiting => "Approve on your device",
        SelfLoginStage.QrCode => "Scan with the Self app",
        SelfLoginStage.NotConnected => "Connect to " + E(page.SiteName) + " first",
        SelfLoginStage.Error => "This sign-in cannot continue",
        _ => "Sign in to " + E(page.SiteName),
    };

    private static void Enter(StringBuilder b, SelfLoginPage page)
    {
        b.Append("<p class=\"lead\">Enter your Self ID and approve the sign-in in the Self app on your device.</p>\n");
        var described = "selfId-hint";
        if (page.Message is { } message)
        {
            b.Append("<p class=\"notice\" id=\"message\" role=\"alert\">").Append(E(message)).Append("</p>\n");
            described += " message";
        }

        b.Append("<form method=\"post\" action=\"").Append(E(page.FormAction)).Append("\" class=\"stack\">\n");
        Hidden(b, page);
        b.Append("<label for=\"selfId\">Your Self ID</label>\n")
            .Append("<input id=\"selfId\" name=\"").Append(SelfLoginPage.SelfIdField)
            .Append("\" type=\"text\" inputmode=\"numeric\" autocomplete=\"username\" spellcheck=\"false\" required maxlength=\"20\" aria-describedby=\"")
            .Append(described).Append('"');
        if (page.Message is not null && page.SelfId is not null)
        {
            b.Append(" aria-invalid=\"true\"");
        }

        if (page.SelfId is { } selfId)
        {
            b.Append(" value=\"").Append(E(selfId)).Append('"');
        }

        b.Append(" autofocus>\n<p id=\"selfId-hint\" class=\"hint\">10 or 11 digits, shown in the Self app.</p>\n")
            .Append("<button type=\"submit\" name=\"").Append(SelfLoginPage.ModeField).Append("\" value=\"push\">Send to my device</button>\n</form>\n");
        if (page.AllowQrCode)
        {
            b.Append("<div class=\"or\"><span>or</span></div>\n<form method=\"post\" action=\"").Append(E(page.FormAction)).Append("\">\n");
            Hidden(b, page);
            b.Append("<button type=\"submit\" class=\"secondary\" name=\"").Append(SelfLoginPage.ModeField).Append("\" value=\"qr\">Scan a QR code instead</button>\n</form>\n");
        }
    }

    private static void Waiting(StringBuilder b, SelfLoginPage page)
    {
        b.Append("<div class=\"live\" data-self-status=\"").Append(E(page.StatusUrl ?? "")).Append("\">\n")
            .Append("<p class=\"lead\" id=\"status\" role=\"status\" aria-live=\"polite\">We sent a sign-in request to <strong>")
            .Append(E(page.SelfId ?? "")).Append("</strong>. Open the Self app on your device and approve it.</p>\n");
        if (page.Number is { } number)
        {
            b.Append("<p class=\"number-label\" id=\"number-label\">Type this number on your device:</p>\n")
                .Append("<p class=\"number\" id=\"number\" aria-labelledby=\"number-label\">").Append(E(number)).Append("</p>\n");
        }

        Binding(b, page);
        Countdown(b, page, "The request expires in");
        NoScript(b, page);
        b.Append("</div>\n");
        Restart(b, page, "Use a different Self ID");
    }

    private static void QrCode(StringBuilder b, SelfLoginPage page)
    {
        b.Append("<div class=\"live\" data-self-status=\"").Append(E(page.StatusUrl ?? "")).Append("\">\n")
            .Append("<p class=\"lead\" id=\"status\" role=\"status\" aria-live=\"polite\">Scan this code with the Self app on your phone, then approve the sign-in.</p>\n");
        if (page.QrCodePng is { } png)
        {
            b.Append("<figure class=\"qr\"><img src=\"data:image/png;base64,").Append(png)
                .Append("\" alt=\"QR code to scan with the Self app to sign in\" data-qr-payload=\"").Append(E(page.QrCodePayload ?? "")).Append("\"></figure>\n");
        }
        else if (page.Message is { } message)
        {
            b.Append("<p class=\"notice\" role=\"alert\">").Append(E(message)).Append("</p>\n");
        }

        Binding(b, page);
        Countdown(b, page, "The code expires in");
        NoScript(b, page);
        b.Append("</div>\n");
        Restart(b, page, "Enter my Self ID instead");
    }

    private static void NotConnected(StringBuilder b, SelfLoginPage page)
    {
        b.Append("<p class=\"notice\" id=\"message\" role=\"alert\">The Self ID <strong>").Append(E(page.SelfId ?? ""))
            .Append("</strong> has not connected to ").Append(E(page.SiteName)).Append(" yet, so this site cannot ask your device to approve.</p>\n")
            .Append("<ol class=\"steps\"><li>Scan this code with the Self app, or open the link on your phone.</li><li>Accept the connection in the app.</li><li>Come back and send the request again.</li></ol>\n");
        if (page.QrCodePng is { } png)
        {
            b.Append("<figure class=\"qr\"><img src=\"data:image/png;base64,").Append(png)
                .Append("\" alt=\"QR code to connect the Self app to this site\" data-invitation-payload=\"").Append(E(page.QrCodePayload ?? "")).Append("\"></figure>\n");
        }

        if (page.InvitationLink is { } link)
        {
            b.Append("<p><a class=\"button secondary\" id=\"invitation-link\" href=\"").Append(E(link.AbsoluteUri)).Append("\">Open in the Self app</a></p>\n");
        }

        Countdown(b, page, "The invitation expires in");
        b.Append("<form method=\"post\" action=\"").Append(E(page.FormAction)).Append("\">\n");
        Hidden(b, page);
        b.Append("<input type=\"hidden\" name=\"").Append(SelfLoginPage.SelfIdField).Append("\" value=\"").Append(E(page.SelfId ?? "")).Append("\">\n")
            .Append("<button type=\"submit\" name=\"").Append(SelfLoginPage.ModeField).Append("\" value=\"push\">I have connected: send the request again</button>\n</form>\n");
        Restart(b, page, "Use a different Self ID");
    }

    private static void Error(StringBuilder b, SelfLoginPage page)
    {
        b.Append("<p class=\"notice\" role=\"alert\">").Append(E(page.Message ?? "")).Append("</p>\n")
            .Append("<p><a class=\"button\" href=\"").Append(E(page.ContinueUrl ?? "/")).Append("\">Start again</a></p>\n");
    }

    private static void Hidden(StringBuilder b, SelfLoginPage page)
    {
        b.Append("<input type=\"hidden\" name=\"").Append(SelfLoginPage.StateField).Append("\" value=\"").Append(E(page.State)).Append("\">\n");
        if (page.AntiforgeryFieldName is { } field && page.AntiforgeryToken is { } token)
        {
            b.Append("<input type=\"hidden\" name=\"").Append(E(field)).Append("\" value=\"").Append(E(token)).Append("\">\n");
        }
    }

    private static void Binding(StringBuilder b, SelfLoginPage page)
    {
        if (page.BindingMessage is { } binding)
        {
            b.Append("<p class=\"hint\">Your device shows the same words: <strong>").Append(E(binding)).Append("</strong></p>\n");
        }
    }

    private static void Countdown(StringBuilder b, SelfLoginPage page, string label)
    {
        if (page.ExpiresAt is { } expires)
        {
            b.Append("<p class=\"countdown\">").Append(E(label)).Append(" <time id=\"countdown\" datetime=\"")
                .Append(expires.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)).Append("\" data-expires=\"")
                .Append(expires.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)).Append("\">")
                .Append(expires.UtcDateTime.ToString("HH:mm 'UTC'", CultureInfo.InvariantCulture)).Append("</time>.</p>\n");
        }
    }

    private static void NoScript(StringBuilder b, SelfLoginPage page)
    {
        if (page.ContinueUrl is { } next)
        {
            b.Append("<noscript><p>This page updates by itself with JavaScript. Without it, <a href=\"").Append(E(next))
                .Append("\">check again</a> after you approve.</p></noscript>\n");
        }
    }

    private static void Restart(StringBuilder b, SelfLoginPage page, string label)
    {
        b.Append("<form method=\"post\" action=\"").Append(E(page.FormAction)).Append("\" class=\"restart\">\n");
        Hidden(b, page);
        b.Append("<button type=\"submit\" class=\"link\" name=\"").Append(SelfLoginPage.ModeField).Append("\" value=\"restart\">").Append(E(label)).Append("</button>\n</form>\n");
    }

    private static string E(string value) => Html.Encode(value);
}
