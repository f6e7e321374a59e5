using System.Globalization;

namespace Self.Oidc.Bench;

/// <summary>The benchmark's command line.</summary>
internal sealed record OidcBenchOptions(int Devices, int Concurrency, int Duration, IReadOnlyList<string> Modes, bool Write)
{
    public static OidcBenchOptions? Parse(string[] args)
    {
        var devices = 20;
        var concurrency = 16;
        var duration = 10;
        string[] modes = ["poll", "ping"];
        var write = true;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException(args[i] + " needs a value");
            try
            {
                switch (args[i])
                {
                    case "--devices":
                        devices = int.Parse(Next(), CultureInfo.InvariantCulture);
                        break;
                    case "--concurrency":
                        concurrency = int.Parse(Next(), CultureInfo.InvariantCulture);
                        break;
                    case "--duration":
                        duration = int.Parse(Next(), CultureInfo.InvariantCulture);
                        break;
                    case "--mode":
                        modes = Next() switch
                        {
                            "poll" => ["poll"],
                            "ping" => ["ping"],
                            "both" => ["poll", "ping"],
                            _ => throw new ArgumentException("--mode is poll, ping or both"),
                        };
                        break;
                    case "--no-write":
                        write = false;
                        break;
                    default:
                        return null;
                }
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException)
            {
                Console.Error.WriteLine(ex.Message);
                return null;
            }
        }

        return devices < 1 || concurrency < 1 || duration < 1 ? null : new OidcBenchOptions(devices, concurrency, duration, modes, write);
    }
}
