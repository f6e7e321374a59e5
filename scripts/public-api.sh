#!/usr/bin/env bash
# Records a deliberate public API change: builds the given library projects (default: every project with
# <TrackPublicApi>true</TrackPublicApi>) and appends each symbol the PublicApiAnalyzers report as undeclared (RS0016)
# to that project's PublicAPI.Unshipped.txt. Review the diff before committing: every line is a public API change.
# Removed symbols (RS0017) still unshipped are dropped from Unshipped; removed shipped ones are only listed (record them
# by hand with a *REMOVED* prefix in Unshipped).
set -euo pipefail
cd "$(dirname "$0")/.."
projects=("$@")
if [ ${#projects[@]} -eq 0 ]; then
  mapfile -t projects < <(grep -l '<TrackPublicApi>true</TrackPublicApi>' src/*/*.csproj)
fi
for project in "${projects[@]}"; do
  dir=$(dirname "$project")
  out=$(dotnet build "$project" -c Release 2>&1 || true)
  added=$(grep -oP "RS0016: Symbol '\K.*(?=' is not part of the declared public API)" <<<"$out" | sort -u || true)
  if [ -n "$added" ]; then
    { cat "$dir/PublicAPI.Unshipped.txt"; echo "$added"; } | { read -r first; echo "$first"; LC_ALL=C sort -u; } \
      > "$dir/PublicAPI.Unshipped.txt.new"
    mv "$dir/PublicAPI.Unshipped.txt.new" "$dir/PublicAPI.Unshipped.txt"
    echo "$dir: $(wc -l <<<"$added") symbol(s) added to PublicAPI.Unshipped.txt"
  fi
  removed=$(grep -oP "RS0017: Symbol '\K.*(?=' is part of the declared API)" <<<"$out" | sort -u || true)
  if [ -n "$removed" ]; then
    grep -vxF -f <(echo "$removed") "$dir/PublicAPI.Unshipped.txt" > "$dir/PublicAPI.Unshipped.txt.new" || true
    mv "$dir/PublicAPI.Unshipped.txt.new" "$dir/PublicAPI.Unshipped.txt"
    sed "s|^|$dir: removed: |" <<<"$removed"
  fi
done
