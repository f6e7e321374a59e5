#!/usr/bin/env bash
# Runs every test of the solution: installs the test prerequisites, builds once, runs each test project,
# and closes with one summary line ("N passed, N failed").
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh || exit 1

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# The Node relying party of the OIDC tests installs from its lockfile.
(cd tests/Self.Oidc.Tests/node && npm ci --no-audit --no-fund --silent) || exit 1
log=$(mktemp)
echo "building (Release)…"
if ! dotnet build Self.slnx -c Release >"$log" 2>&1; then
  grep -E ": error " "$log" | sort -u | head -50
  tail -n 5 "$log"
  echo "build failed"
  exit 1
fi

dotnet test Self.slnx -c Release --no-build --blame-hang-timeout 10m 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# dotnet test prints one "Passed!/Failed! - Failed: F, Passed: P, Skipped: S, Total: T" line per assembly.
summary=$(grep -E "(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+" "$log" |
  sed -E 's/.*Failed: +([0-9]+), +Passed: +([0-9]+), +Skipped: +([0-9]+).*/\1 \2 \3/' |
  awk '{f+=$1; p+=$2; s+=$3} END {printf "%d passed, %d failed, %d skipped", p, f, s}')
rm -f "$log"

# The packages, installed from a local feed into a fresh app and as the self tool (docs/packages.md).
pack=$(bash scripts/pack-check.sh --no-build 2>&1)
pack_status=$?
echo "$pack"
[ "$pack_status" -eq 0 ] || status=1

echo
echo "tests: ${summary:-0 passed, 0 failed}"
exit "$status"
