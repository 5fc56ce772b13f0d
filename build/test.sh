#!/usr/bin/env bash
# THE test command: dependencies, Release build, unit/integration tests, then (as root with
# network namespaces) the lab tests. The last line is always "N passed, N failed, N skipped".
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
results="$repo/artifacts/test-results"
cd "$repo" || exit 1

passed=0 failed=0 skipped=0 crashed=0

summary() {
    echo "$passed passed, $failed failed, $skipped skipped"
}

if ! "$repo/build/deps.sh"; then
    echo "test: dependencies are missing (see above)"
    failed=$((failed + 1)); summary; exit 1
fi

echo "test: building Capture.sln (Release)"
if ! dotnet build Capture.sln -c Release --nologo -v q -clp:ErrorsOnly; then
    echo "test: build failed"
    failed=$((failed + 1)); summary; exit 1
fi

rm -rf "$results"
mkdir -p "$results"

# The package tests (tests/Capture.Tests/Deploy/PackageTests.cs) read artifacts/packages: built
# here because publishing three self-contained binaries takes minutes (see README "Packages").
echo "test: building the Debian packages (build/package.sh)"
if ! "$repo/build/package.sh"; then
    echo "test: build/package.sh failed (the package tests will fail: no packages)"
    failed=$((failed + 1))
fi

# counter NAME FILE: one attribute of the TRX <Counters …/> element (0 when absent).
counter() {
    local v
    v="$(grep -o '<Counters [^>]*' "$2" | head -n 1 | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]\+')"
    echo "${v:-0}"
}

# run_tests NAME PROJECT TIMEOUT_SECONDS: dotnet test with a TRX logger, then add its counters.
run_tests() {
    local name="$1" project="$2" limit="$3" trx="$results/$1.trx" rc
    echo "test: $name ($project)"
    timeout -k 15 "$limit" dotnet test "$project" --no-build -c Release --nologo \
        --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" \
        --results-directory "$results"
    rc=$?
    if [[ ! -f "$trx" ]]; then
        echo "test: $name produced no TRX (exit code $rc): the test run crashed or timed out"
        crashed=$((crashed + 1)); return
    fi
    local p f e t a n i
    p="$(counter passed "$trx")" f="$(counter failed "$trx")" e="$(counter error "$trx")"
    t="$(counter timeout "$trx")" a="$(counter aborted "$trx")"
    n="$(counter notExecuted "$trx")" i="$(counter inconclusive "$trx")"
    passed=$((passed + p)) failed=$((failed + f + e + t + a)) skipped=$((skipped + n + i))
    echo "test: $name: $p passed, $((f + e + t + a)) failed, $((n + i)) skipped"
    if [[ $rc -ne 0 && $((f + e + t + a)) -eq 0 ]]; then
        echo "test: $name: dotnet test exited with $rc although no test failed: counted as a crash"
        crashed=$((crashed + 1))
    fi
}

run_tests capture tests/Capture.Tests/Capture.Tests.csproj 600

# The lab needs root and working network namespaces; elsewhere its tests are counted as skipped.
lab_reason=""
if [[ $EUID -ne 0 ]]; then
    lab_reason="not running as root"
else
    probe="hc-probe-$$"
    if ip netns add "$probe" 2>/dev/null; then ip netns del "$probe"; else lab_reason="'ip netns add' does not work here"; fi
fi
if [[ -z "$lab_reason" ]]; then
    run_tests lab tests/Lab.Tests/Lab.Tests.csproj 900
else
    n="$(dotnet test tests/Lab.Tests/Lab.Tests.csproj --no-build -c Release --list-tests 2>/dev/null |
        sed -n '/The following Tests are available:/,$p' | tail -n +2 | grep -c '^ ')"
    [[ "$n" -gt 0 ]] || n=1
    skipped=$((skipped + n))
    echo "test: lab tests skipped ($n): $lab_reason"
fi

status=0
((failed == 0)) || status=1
((crashed == 0)) || { status=1; echo "test: $crashed test run(s) crashed"; }
((passed > 0)) || { status=1; echo "test: no test passed"; }
summary
exit "$status"
