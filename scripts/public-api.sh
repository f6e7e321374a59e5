#!/usr/bin/env bash
# Records a deliberate public API change: builds the solution (or the given projects) and appends each symbol the
# PublicApiAnalyzers report as undeclared (RS0016) to PublicAPI.Unshipped.txt of the project the diagnostic names —
# not of the project being built, since a build also reports its dependencies' diagnostics. Repeats until nothing is
# left to add (a library's dependents only compile once it does). Removed symbols (RS0017) still unshipped are dropped
# from Unshipped; removed shipped ones are only listed (record them by hand with a *REMOVED* prefix in Unshipped).
# Review the diff before committing: every line is a public API change.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(Self.slnx)
for round in 1 2 3 4 5 6; do
  out=$(for t in "${targets[@]}"; do dotnet build "$t" -c Release 2>&1 || true; done)
  changed=0
  # Each diagnostic ends with "[/path/to/Project.csproj]": group its symbols by that project.
  while IFS=$'\t' read -r csproj symbol; do
    [ -z "$csproj" ] && continue
    dir=$(dirname "$csproj")
    file="$dir/PublicAPI.Unshipped.txt"
    if ! grep -qxF -- "$symbol" "$file"; then
      echo "$symbol" >> "$file"
      echo "$dir: added: $symbol"
      changed=1
    fi
  done < <(perl -ne "print \"\$2\t\$1\n\" if /RS0016: Symbol '(.*)' is not part of the declared public API.*\[([^\]]+\.csproj)\]/" <<<"$out" | sort -u)
  while IFS=$'\t' read -r csproj symbol; do
    [ -z "$csproj" ] && continue
    file="$(dirname "$csproj")/PublicAPI.Unshipped.txt"
    if grep -qxF -- "$symbol" "$file"; then
      grep -vxF -- "$symbol" "$file" > "$file.new" || true
      mv "$file.new" "$file"
      changed=1
    fi
    echo "$(dirname "$csproj"): removed: $symbol"
  done < <(perl -ne "print \"\$2\t\$1\n\" if /RS0017: Symbol '(.*)' is part of the declared API.*\[([^\]]+\.csproj)\]/" <<<"$out" | sort -u)
  [ "$changed" = 0 ] && break
done
# Keep each Unshipped file sorted after its first line (#nullable enable).
for file in src/*/PublicAPI.Unshipped.txt; do
  { read -r first; echo "$first"; LC_ALL=C sort -u; } < "$file" > "$file.new" && mv "$file.new" "$file"
done
