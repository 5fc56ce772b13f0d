#!/usr/bin/env bash
# The benchmark: builds Release, generates its own capture set (>= 1 M ICMP packets over the six
# capture points of field report 003), measures the engine, gRPC ingest into a real correlator
# with SQLite, and `capture analyze` against tshark and tcpdump; writes bench/RESULTS.md and
# bench/results.json. Runtime: a few minutes on 2 cores. Not part of build/test.sh.
# Extra arguments go to the harness (e.g. --packets 2000000 --agents 8 --ingest-rate 800000).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
work="$(mktemp -d /tmp/hopcapture-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# The comparison needs tshark (a fresh machine has none): deps.sh installs it, or stops saying why.
"$repo/build/deps.sh" --bench

dotnet build Capture.sln -c Release --nologo -v q -clp:ErrorsOnly
# capture analyze is timed as engineers install it (README: dotnet publish, ReadyToRun).
dotnet publish src/Cli -c Release -o "$work/cli" --nologo -v q -clp:ErrorsOnly
dotnet bench/bin/Release/net10.0/hopcapture-bench.dll --out "$repo/bench" --work "$work" --cli "$work/cli/capture" "$@"
