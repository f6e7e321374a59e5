#!/usr/bin/env bash
# CIBA benchmark of the OpenID provider: builds Release and runs bench/Self.Oidc.Bench with the given options
# (defaults: 20 auto-accepting devices, 16 concurrent flows, 10 s per mode, poll then ping).
# Writes its figures into docs/performance.md (its own section only) unless --no-write.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/Self.Oidc.Bench -c Release -v quiet -nologo >/dev/null
exec dotnet bench/Self.Oidc.Bench/bin/Release/net10.0/Self.Oidc.Bench.dll "$@"
