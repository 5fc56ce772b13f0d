#!/usr/bin/env bash
# Installs what the product, the lab and the tests need, then restores NuGet packages.
# Idempotent and quiet when everything is already present.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# libpcap0.8: SharpPcap P/Invokes it at run time. iproute2/iputils-ping/iperf3/tcpdump: the lab.
# procps/psmisc: ps/pkill-free process inspection used by lab.sh and the tests.
# adduser/init-system-helpers: what the packages' maintainer scripts call (the package tests
# install them); systemd: systemd-analyze verify/security on the units (not run as PID 1);
# util-linux: setpriv (the unprivileged capture test); git: build/package.sh's version.
# prometheus (prometheus, promtool) and prometheus-alertmanager (prometheus-alertmanager, amtool):
# the alert and metrics tests run the real ones (issue 13); their services are not started.
# postgresql-15: the PostgreSQL store's tests and `hopcapture-bench --store postgres` start their
# own server in a temp directory (initdb/pg_ctl); the package's default cluster is not used.
# tshark: the lab test opens `capture pcap` slices with it (issue 14), and build/bench.sh compares
# `capture analyze` against it. jq: lab.sh reads iperf3's JSON reports.
packages=(libpcap0.8 iproute2 iputils-ping iperf3 tcpdump procps psmisc adduser init-system-helpers systemd util-linux git prometheus prometheus-alertmanager postgresql-15 tshark jq)

# --bench: what build/bench.sh compares against is in the list above already (kept for callers).
case "${1:-}" in
--bench) ;;
"") ;;
*) echo "deps: unknown argument '$1' (expected --bench or nothing)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
    if [[ $EUID -ne 0 ]]; then
        echo "deps: missing Debian packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})" >&2
        exit 1
    fi
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
    echo "deps: 'dotnet' not found on PATH: install the .NET 10 SDK (https://dot.net) and retry" >&2
    exit 1
fi

# Quiet unless restore fails; then show what it said.
if ! out="$(cd "$repo" && dotnet restore Capture.sln --nologo -v q 2>&1)"; then
    printf '%s\n' "$out" >&2
    echo "deps: dotnet restore Capture.sln failed" >&2
    exit 1
fi
