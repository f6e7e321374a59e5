#!/usr/bin/env bash
# Fuzzes every parser that reads outside bytes (fuzz/Self.Fuzz) with AFL++ through SharpFuzz.
#
#   scripts/fuzz.sh [--smoke] [--minutes N] [--seconds N] [target...]
#
#   --smoke       no AFL: run each target once over its seed corpus (and any earlier findings), seconds in all
#   --minutes N   AFL++ time per target (default 10); --seconds N for shorter runs
#   target...     a subset (default: all; `dotnet fuzz/Self.Fuzz/bin/Release/net10.0/self-fuzz.dll list`)
#
# Needs (AFL mode): Debian's afl++ package and the SharpFuzz tool (`dotnet tool install --global SharpFuzz.CommandLine`).
# Output: out/fuzz/findings/<target>/ (AFL's queue, crashes, hangs) and one summary line per target:
#   target  seconds  execs  paths  crashes  hangs
# A crash is replayed with `self-fuzz run <target> out/fuzz/findings/<target>/default/crashes` and becomes a regression test.
set -uo pipefail
cd "$(dirname "$0")/.."

smoke=0
seconds=600
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --minutes) seconds=$(( $2 * 60 )); shift ;;
    --seconds) seconds=$2; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) targets+=("$1") ;;
  esac
  shift
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
out=out/fuzz
bin=$out/bin
mkdir -p "$out/findings"
if ! dotnet build fuzz/Self.Fuzz -c Release -o "$bin" >"$out/build.log" 2>&1; then
  grep -E ": error " "$out/build.log" | sort -u | head -20
  echo "fuzz: build failed"; exit 1
fi

fuzz=(dotnet "$bin/self-fuzz.dll")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <("${fuzz[@]}" list)
rm -rf "$out/seeds"
"${fuzz[@]}" seeds "$out/seeds" || exit 1

if [ "$smoke" = 1 ]; then
  status=0
  for t in "${targets[@]}"; do
    paths=("$out/seeds/$t")
    [ -d "$out/findings/$t/default/queue" ] && paths+=("$out/findings/$t/default/queue")
    [ -d "$out/findings/$t/default/crashes" ] && paths+=("$out/findings/$t/default/crashes")
    "${fuzz[@]}" run "$t" "${paths[@]}" || status=1
  done
  exit $status
fi

command -v afl-fuzz >/dev/null || { echo "fuzz: afl-fuzz not found (apt-get install afl++)"; exit 1; }
sharpfuzz=$(command -v sharpfuzz || echo "$HOME/.dotnet/tools/sharpfuzz")
[ -x "$sharpfuzz" ] || { echo "fuzz: sharpfuzz not found (dotnet tool install --global SharpFuzz.CommandLine)"; exit 1; }

# Instrument the libraries whose parsers are fuzzed (in the private output folder only).
for lib in Self.Protocol Self.Crypto; do
  "$sharpfuzz" "$bin/$lib.dll" >/dev/null || { echo "fuzz: instrumenting $lib failed"; exit 1; }
done

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
printf '%-14s %8s %10s %7s %8s %6s\n' target seconds execs paths crashes hangs
total_crashes=0
for t in "${targets[@]}"; do
  findings=$out/findings/$t
  input=$out/seeds/$t
  # Resume from an earlier run's queue when there is one.
  [ -d "$findings/default/queue" ] && input=-
  afl-fuzz -i "$input" -o "$findings" -V "$seconds" -t 5000 -m none -- "${fuzz[@]}" afl "$t" >"$out/$t.log" 2>&1
  stats=$findings/default/fuzzer_stats
  if [ ! -f "$stats" ]; then
    echo "fuzz: $t did not start; see $out/$t.log"; tail -5 "$out/$t.log"; exit 1
  fi
  get() { awk -F' *: *' -v k="$1" '$1==k {print $2}' "$stats"; }
  crashes=$(get saved_crashes); crashes=${crashes:-$(get unique_crashes)}
  hangs=$(get saved_hangs); hangs=${hangs:-$(get unique_hangs)}
  printf '%-14s %8s %10s %7s %8s %6s\n' "$t" "$(get run_time)" "$(get execs_done)" "$(get corpus_count)" "$crashes" "$hangs"
  total_crashes=$(( total_crashes + ${crashes:-0} ))
done
[ "$total_crashes" = 0 ] || { echo "fuzz: $total_crashes crashes; replay them with: dotnet $bin/self-fuzz.dll run <target> $out/findings/<target>/default/crashes"; exit 1; }
