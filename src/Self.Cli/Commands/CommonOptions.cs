using System.CommandLine;
using System.CommandLine.Parsing;
using Self.Cli.Terminal;
using Self.Protocol.Identifiers;

namespace Self.Cli.Commands;

/// <summary>The options several commands share, built fresh for each command so every one reads the same way.</summary>
internal static class CommonOptions
{
    /// <summary>Where client commands look for the network when nothing says otherwise.</summary>
    public static readonly Uri DefaultServer = new("http://127.0.0.1:8080/");

    /// <summary>Where <c>network serve</c> keeps its data, and where client commands look for its admin token.</summary>
    public const string DefaultDataDirectory = "./.self-network";

    public static Option<Uri?> Server(string description) => new("--server")
    {
        Description = description,
        HelpName = "URL",
        CustomParser = ParseHttpUrl,
    };

    public static Option<bool> Json(string description = "Print the result as JSON, for scripts.") => new("--json")
    {
        Description = description,
    };

    public static Option<string?> Data(string description) => new("--data")
    {
        Description = description,
        HelpName = "DIR",
    };

    public static Option<string?> App() => WithValidator(
        new Option<string?>("--app")
        {
            Description = "The app that asks (default: the app created last).",
            HelpName = "APP_ID",
        },
        SelfIds.IsAppId,
        "is not an app id (32 lowercase hex characters)");

    public static Option<string?> User(string description = "The user (default: the user created last).") => WithValidator(
        new Option<string?>("--user")
        {
            Description = description,
            HelpName = "SELF_ID",
        },
        SelfIds.IsUserId,
        "is not a Self ID (10 or 11 digits, such as 1112223334)");

    public static Argument<string> SelfIdArgument(string description)
    {
        var argument = new Argument<string>("SELF_ID") { Description = description };
        argument.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (!SelfIds.IsUserId(value))
            {
                result.AddError($"'{value}' is not a Self ID (10 or 11 digits, such as 1112223334).");
            }
        });
        return argument;
    }

    public static Argument<string> AppIdArgument(string description)
    {
        var argument = new Argument<string>("APP_ID") { Description = description };
        argument.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (!SelfIds.IsAppId(value))
            {
                result.AddError($"'{value}' is not an app id (32 lowercase hex characters).");
            }
        });
        return argument;
    }

    public static Option<TimeSpan?> Duration(string name, string description, TimeSpan? max = null) => new(name)
    {
        Description = description,
        HelpName = "DURATION",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : null;
            if (Durations.TryParse(text, out var duration))
            {
                if (max is { } limit && duration > limit)
                {
                    result.AddError($"{name}: {text} is longer than {Durations.Format(limit)}, the most a device accepts.");
                    return null;
                }

                return duration;
            }

            result.AddError($"'{text}' is not a duration: write it like 60s, 5m or 1h.");
            return null;
        },
    };

    private static Option<string?> WithValidator(Option<string?> option, Func<string?, bool> isValid, string problem)
    {
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string?>();
            if (value is not null && !isValid(value))
            {
                result.AddError($"{option.Name}: '{value}' {problem}.");
            }
        });
        return option;
    }

    private static Uri? ParseHttpUrl(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : null;
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }

        result.AddError($"'{text}' is not an http:// or https:// URL.");
        return null;
    }

    /// <summary>
    /// <c>--accept</c> and <c>--reject</c>, answering without asking; adds them to <paramref name="command"/> with the
    /// rule that only one may be given. <see cref="AnswerOptions.Read"/> gives true, false or null (ask).
    /// </summary>
    public static AnswerOptions Answer(Command command, string accept, string reject)
    {
        var options = new AnswerOptions(
            new Option<bool>("--accept") { Description = accept },
            new Option<bool>("--reject") { Description = reject });
        command.Options.Add(options.Accept);
        command.Options.Add(options.Reject);
        command.Validators.Add(result =>
        {
            if (result.GetValue(options.Accept) && result.GetValue(options.Reject))
            {
                result.AddError("--accept and --reject cannot be used together.");
            }
        });
        return options;
    }
}

/// <summary>The pair made by <see cref="CommonOptions.Answer"/>.</summary>
internal sealed record AnswerOptions(Option<bool> Accept, Option<bool> Reject)
{
    /// <summary>True with <c>--accept</c>, false with <c>--reject</c>, null when the person is to be asked.</summary>
    public bool? Read(ParseResult parse) => parse.GetValue(Accept) ? true : parse.GetValue(Reject) ? false : null;
}
