#!/usr/bin/env bash
# Coverage-guided fuzzing of what hostile input reaches, with AFL++ (Debian's afl++) and SharpFuzz:
#   build/fuzz.sh TARGET [SECONDS]      TARGET: decoder | capture-file | ingest (default 300 s)
# Starts from fuzz/corpus/TARGET; inputs that crash, hang or break a target's contract end up in
# artifacts/fuzz/TARGET-afl/ (AFL's findings). Replay one with
#   dotnet fuzz/bin/Release/net10.0/hopcapture-fuzz.dll TARGET --replay DIR
# and add it to fuzz/corpus/TARGET once fixed: build/test.sh replays the corpus (and a seeded
# mutation run) on every test run. Not part of build/test.sh itself: fuzzing is open-ended.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
target="${1:-}"
seconds="${2:-300}"
case "$target" in
    decoder | capture-file | ingest) ;;
    *) echo "usage: build/fuzz.sh decoder|capture-file|ingest [SECONDS]" >&2; exit 2 ;;
esac

if ! command -v afl-fuzz >/dev/null 2>&1; then
    [[ $EUID -eq 0 ]] || { echo "fuzz: afl-fuzz is missing (apt-get install afl++)" >&2; exit 1; }
    echo "fuzz: installing afl++"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends afl++ >/dev/null
fi

tools="$repo/artifacts/tools"
if [[ ! -x "$tools/sharpfuzz" ]]; then
    dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
fi

out="$repo/artifacts/fuzz-bin"
dotnet publish fuzz/Fuzz.csproj -c Release -o "$out" --nologo -v q -clp:ErrorsOnly
# Instrument the assemblies whose code the target runs (SharpFuzz rewrites them for AFL's coverage map).
for dll in HopCapture.Packets.dll HopCapture.Contracts.dll hopcapture-correlator.dll; do
    "$tools/sharpfuzz" "$out/$dll" >/dev/null
done

findings="$repo/artifacts/fuzz/$target-afl"
mkdir -p "$findings"
# AFL_SKIP_CPUFREQ / core pattern: this is often a VM or container; AFL_NO_UI: plain log lines.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1
echo "fuzz: $target for $seconds s (findings in $findings)"
afl-fuzz -i "fuzz/corpus/$target" -o "$findings" -t 5000 -m none -V "$seconds" -- "$out/hopcapture-fuzz" "$target"
crashes="$(find "$findings" -path '*crashes/id*' 2>/dev/null | wc -l)"
hangs="$(find "$findings" -path '*hangs/id*' 2>/dev/null | wc -l)"
echo "fuzz: $target: $crashes crashes, $hangs hangs"
[[ $crashes -eq 0 && $hangs -eq 0 ]]
