using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Self.Crypto.Bench -- --filter '*' --job short
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
