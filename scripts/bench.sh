#!/usr/bin/env bash
# End-to-end benchmark: builds Release and runs bench/Self.EndToEnd.Bench with the given options
# (defaults: 100 devices, 1/2/4 app clients, 32 concurrent, open loop at half the closed loop, 20 s each, 100,000 queued
# messages over 1,000 inboxes across a restart, 100,000 idle connections; --smoke for a short run).
# Writes its figures into docs/performance.md unless --no-write or --smoke.
set -euo pipefail
cd "$(dirname "$0")/.."

# Idle connections need a file descriptor each, on both ends.
# 100,000 idle connections need 200,000 descriptors (both ends run on this machine): raise the hard limit when root.
ulimit -Hn 1048576 2>/dev/null || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

dotnet build bench/Self.EndToEnd.Bench -c Release -v quiet -nologo >/dev/null
exec dotnet bench/Self.EndToEnd.Bench/bin/Release/net10.0/Self.EndToEnd.Bench.dll "$@"
