#!/usr/bin/env bash
# Builds the Debian packages hopcapture-agent, hopcapture-correlator and hopcapture-cli into
# artifacts/packages/ (override with HC_PACKAGE_OUT): self-contained single-file linux-x64
# binaries (no .NET runtime on the node), packed with dpkg-deb only (no debhelper).
# Prints one line per package: PATH SIZE. Needs network access to nuget.org the first time
# (the linux-x64 runtime packs and the trimmer are restored here, not by build/deps.sh).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${HC_PACKAGE_OUT:-$repo/artifacts/packages}"
work="$repo/artifacts/package-build"

for tool in dotnet dpkg-deb git tar; do
    command -v "$tool" >/dev/null 2>&1 || { echo "package: '$tool' not found on PATH (see build/deps.sh)" >&2; exit 1; }
done

# Version: the base version from Directory.Build.props, or the nearest tag vX.Y.Z; plus
# +git.<commits since>.<sha> unless HEAD is exactly a tag. A valid Debian version that sorts
# upward with every commit ("0.1.0+git.42.fed6c7c" < "0.1.0+git.43.1a2b3c4").
base="$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$repo/Directory.Build.props" | head -n 1)"
sha="$(git -C "$repo" rev-parse --short=7 HEAD)"
if tag="$(git -C "$repo" describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null)"; then
    base="${tag#v}"
    count="$(git -C "$repo" rev-list --count "$tag..HEAD")"
else
    count="$(git -C "$repo" rev-list --count HEAD)"
fi
version="$base"
[[ "$count" == 0 ]] || version="$base+git.$count.$sha"
if [[ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]]; then
    version="$version.dirty"
fi
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || { echo "package: '$version' is not a valid Debian version" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work/src" "$out"
# Never leave an older build's packages to be mistaken for this one's.
rm -f "$out"/hopcapture-agent_*.deb "$out"/hopcapture-correlator_*.deb "$out"/hopcapture-cli_*.deb

# Publish from a copy of the tree (tracked and untracked, not ignored files) so the RID-specific
# restore and the rebuilt libraries never touch the build the tests run from.
(cd "$repo" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$work/src"

# publish PROJECT DIR TRIM: one self-contained single-file binary (native libraries it carries,
# e.g. SQLite's, stay beside it).
publish() {
    local project="$1" dir="$2" trim="$3" started=$SECONDS
    dotnet publish "$work/src/src/$project" -c Release -r linux-x64 --self-contained \
        -p:PublishSingleFile=true -p:PublishTrimmed="$trim" -p:DebugType=none \
        -p:InformationalVersion="$version" -p:IncludeSourceRevisionInInformationalVersion=false \
        -o "$work/publish/$dir" --nologo -v q -clp:ErrorsOnly
    echo "package: published $project (trimmed: $trim) in $((SECONDS - started)) s"
}

# Trimmed: checked by running the trimmed binary for real (config binding and validation, live
# capture, gRPC upload to a correlator; the CLI's queries and analyze). See README "Packages".
publish Agent agent true
publish Cli cli true
# Not trimmed: an ASP.NET Core gRPC server with prometheus-net and reflection-based config
# binding of nested options (probing plans, alert rules, webhooks); the trimmer does not
# guarantee those survive and a correlator that loses a rule silently is worse than 50 MB.
publish Correlator correlator false

# stage COMPONENT PACKAGE: the common part of a package tree.
stage() {
    local component="$1" package="$2" root="$work/root/$2"
    mkdir -p "$root/DEBIAN" "$root/usr/lib/hopcapture/$component" "$root/usr/bin" "$root/usr/share/doc/$package"
    cp -a "$work/publish/$component/." "$root/usr/lib/hopcapture/$component/"
    install -m 0644 "$repo/README.md" "$root/usr/share/doc/$package/README.md"
}

# control PACKAGE DEPENDS DESCRIPTION...: DEBIAN/control with the installed size.
control() {
    local package="$1" depends="$2" summary="$3" root="$work/root/$1"
    shift 3
    local size
    size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
    {
        echo "Package: $package"
        echo "Version: $version"
        echo "Architecture: amd64"
        echo "Maintainer: HopCapture <hopcapture@localhost>"
        echo "Installed-Size: $size"
        echo "Depends: $depends"
        echo "Section: net"
        echo "Priority: optional"
        echo "Description: $summary"
        for line in "$@"; do echo " $line"; done
    } >"$root/DEBIAN/control"
}

# service PACKAGE UNIT CONFIG: unit, conffile and maintainer scripts of a daemon package.
service() {
    local package="$1" unit="$2" config="$3" root="$work/root/$1" script
    install -D -m 0644 "$repo/deploy/$unit" "$root/lib/systemd/system/$unit"
    install -D -m 0644 "$repo/deploy/packaging/$config" "$root/etc/hopcapture/$config"
    echo "/etc/hopcapture/$config" >"$root/DEBIAN/conffiles"
    for script in postinst prerm postrm; do
        sed -e "s/@UNIT@/$unit/g" -e "s/@PACKAGE@/$package/g" -e "s/@CONFIG@/$config/g" \
            "$repo/deploy/packaging/$script" >"$root/DEBIAN/$script"
        chmod 0755 "$root/DEBIAN/$script"
    done
}

stage agent hopcapture-agent
ln -s ../lib/hopcapture/agent/hopcapture-agent "$work/root/hopcapture-agent/usr/bin/hopcapture-agent"
service hopcapture-agent hopcapture-agent.service agent.json
control hopcapture-agent "libpcap0.8, libc6, libgcc-s1, libstdc++6, adduser, init-system-helpers" \
    "HopCapture agent: captures ICMP echo on a node's interfaces" \
    "Captures ping requests and replies with libpcap on guest NICs, taps and physical" \
    "NICs and streams them to the HopCapture correlator. Self-contained (no .NET runtime)."

stage correlator hopcapture-correlator
ln -s ../lib/hopcapture/correlator/hopcapture-correlator "$work/root/hopcapture-correlator/usr/bin/hopcapture-correlator"
service hopcapture-correlator hopcapture-correlator.service correlator.json
# What a Prometheus shop needs next to the correlator: scrape config, recording and alerting
# rules (with their promtool tests), an Alertmanager route and a Grafana dashboard.
install -d "$work/root/hopcapture-correlator/usr/share/hopcapture/prometheus" "$work/root/hopcapture-correlator/usr/share/hopcapture/grafana"
install -m 0644 "$repo"/deploy/prometheus/*.yml "$work/root/hopcapture-correlator/usr/share/hopcapture/prometheus/"
install -m 0644 "$repo"/deploy/grafana/*.json "$work/root/hopcapture-correlator/usr/share/hopcapture/grafana/"
control hopcapture-correlator "libc6, libgcc-s1, libstdc++6, adduser, init-system-helpers" \
    "HopCapture correlator: where along the path a ping spent its time" \
    "Joins the agents' observations of each ping, attributes its delay and loss to" \
    "segments, stores results in SQLite and serves the capture CLI. Self-contained."

stage cli hopcapture-cli
ln -s ../lib/hopcapture/cli/capture "$work/root/hopcapture-cli/usr/bin/capture"
control hopcapture-cli "libc6, libgcc-s1, libstdc++6" \
    "HopCapture command line (capture)" \
    "Queries the HopCapture correlator (agents, paths, probes, explain, trace, alerts) and" \
    "analyses pcap files offline. Self-contained (no .NET runtime)."

for package in hopcapture-agent hopcapture-correlator hopcapture-cli; do
    deb="$out/${package}_${version}_amd64.deb"
    dpkg-deb --root-owner-group --build "$work/root/$package" "$deb" >/dev/null
    echo "$deb $(du -h "$deb" | cut -f1)"
done
