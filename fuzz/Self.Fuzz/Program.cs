using Self.Fuzz;

// self-fuzz list                       the target names
// self-fuzz seeds <dir>                writes each target's seed corpus to <dir>/<target>/
// self-fuzz run <target> <path>...     runs a target once over files or folders (smoke, crash replay); exit 1 on a crash
// self-fuzz afl <target>               the AFL++ entry point (run under afl-fuzz, after sharpfuzz instrumentation)
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: self-fuzz list | seeds <dir> | run <target> <path>... | afl <target>");
    return 2;
}

switch (args[0])
{
    case "list":
        foreach (var name in FuzzTargets.All.Keys)
        {
            Console.WriteLine(name);
        }

        return 0;
    case "seeds" when args.Length == 2:
        foreach (var name in FuzzTargets.All.Keys)
        {
            var folder = Directory.CreateDirectory(Path.Combine(args[1], name)).FullName;
            var seeds = Seeds.For(name);
            for (var i = 0; i < seeds.Count; i++)
            {
                File.WriteAllBytes(Path.Combine(folder, $"seed-{i}"), seeds[i]);
            }
        }

        return 0;
    case "run" when args.Length >= 3 && FuzzTargets.All.TryGetValue(args[1], out var run):
        var count = 0;
        foreach (var file in args.Skip(2).SelectMany(static p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]))
        {
            try
            {
                run(File.ReadAllBytes(file));
                count++;
            }
            catch (Exception ex)
            {
                Console.Error.WriteLine($"{args[1]}: crash on {file}: {ex}");
                return 1;
            }
        }

        Console.WriteLine($"{args[1]}: {count} inputs, 0 crashes");
        return 0;
    case "afl" when args.Length == 2 && FuzzTargets.All.TryGetValue(args[1], out var target):
        SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
        {
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            target(memory.ToArray());
        });
        return 0;
    default:
        Console.Error.WriteLine($"self-fuzz: unknown command or target: {string.Join(' ', args)} (targets: {string.Join(", ", FuzzTargets.All.Keys)})");
        return 2;
}
