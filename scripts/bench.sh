#!/usr/bin/env bash
# End-to-end benchmark: builds Release and runs bench/Self.EndToEnd.Bench with the given options
# (defaults: 100 devices, 32 concurrent, 500/s offered, 20 s each, 10,000 idle connections; --smoke for a short run).
# Writes its figures into docs/performance.md unless --no-write or --smoke.
set -euo pipefail
cd "$(dirname "$0")/.."

# Idle connections need a file descriptor each, on both ends.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

dotnet build bench/Self.EndToEnd.Bench -c Release -v quiet -nologo >/dev/null
exec dotnet bench/Self.EndToEnd.Bench/bin/Release/net10.0/Self.EndToEnd.Bench.dll "$@"
