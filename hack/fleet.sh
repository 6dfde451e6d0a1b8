#!/usr/bin/env bash
# Builds the real Fleet v0.16.1 (fleetcontroller, fleetagent) from the
# pristine source archive ../shared/upstream/fleet-v0.16.1.tar.gz (or
# $FLEET_ARCHIVE) into bin/testbin, beside the control plane, and copies
# the archive's charts (fleet-crd, fleet, fleet-agent) to
# bin/testbin/fleet-charts for the tests to install with the real helm
# (with the release's versions and image tags, as Fleet packages them).
# The source is unpacked into bin/fleet-src (a scratch directory, never
# committed) and the build is kept while the archive, the Go version and
# this recipe are unchanged (the stamp .fleet.pins).
#
# Without the archive it says in one line where to put it and exits 0:
# make demo then falls back to the Fleet emulator, and the real-Fleet
# tests fail with the same advice (they never skip).
#
# Cold: ≈ 17-20 min on 2 cores; warm Go cache: seconds. Not -trimpath, so
# that the dependencies compiled by an earlier build of the same source
# (in any directory) come from the Go build cache.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${TESTBIN_DIR:-$root/bin/testbin}
archive=${FLEET_ARCHIVE:-$root/../shared/upstream/fleet-v0.16.1.tar.gz}
# sha256 of `git archive v0.16.1` of github.com/rancher/fleet (commit
# 5823543a3d33952b1c7868eb035ad8e15db420fc).
sha256=66f16f70c5aaf58158dcba497fa658448a819fd038f3f698dbfb29f891825bc5
version=v0.16.1
commit=5823543a3d33
scratch=$root/bin/fleet-src

if [[ ! -f $archive ]]; then
	echo "fleet: the real Fleet is not built: put the Fleet $version source (git archive $version of github.com/rancher/fleet, sha256 $sha256) at $(realpath -m "$archive") (or set FLEET_ARCHIVE) and run make fleet; until then make demo uses the Fleet emulator and the real-Fleet tests fail"
	exit 0
fi
got=$(sha256sum "$archive" | cut -d' ' -f1)
if [[ $got != "$sha256" ]]; then
	echo "fleet: $archive has sha256 $got, not the pinned $sha256 of Fleet $version: replace it with the pristine archive" >&2
	exit 1
fi

pins=$( (echo "$sha256"; go version; sed -n '/^# recipe$/,$p' "$0") | sha256sum | cut -c1-16)
if [[ -x $out/fleetcontroller && -x $out/fleetagent && -d $out/fleet-charts/fleet && "$(cat "$out/.fleet.pins" 2>/dev/null)" == "$pins" ]]; then
	echo "fleet: fleetcontroller and fleetagent $version are up to date"
	exit 0
fi

# recipe
echo "fleet: building fleetcontroller and fleetagent $version from $archive"
start=$SECONDS
mkdir -p "$out"
rm -rf "$scratch"
mkdir -p "$scratch"
tar -xzf "$archive" -C "$scratch"
src=$scratch/fleet-${version#v}
ldflags="-s -w -X github.com/rancher/fleet/pkg/version.Version=$version -X github.com/rancher/fleet/pkg/version.GitCommit=$commit"
rm -rf "$out/.fleet-build"
(cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -ldflags "$ldflags" -o "$out/.fleet-build/" ./cmd/fleetcontroller ./cmd/fleetagent)
rm -rf "$out/fleet-charts"
mkdir -p "$out/fleet-charts"
cp -R "$src/charts/fleet-crd" "$src/charts/fleet" "$src/charts/fleet-agent" "$out/fleet-charts/"
# As Fleet's release packages them (.github/scripts/package-charts.sh in
# the archive): image tags and chart versions of the release, not dev and
# 0.0.0.
for chart in "$out"/fleet-charts/*; do
	sed -i -e "s@tag: dev@tag: $version@" "$chart/values.yaml"
	sed -i -e "s@^version: .*@version: ${version#v}@" -e "s@^appVersion: .*@appVersion: ${version#v}@" "$chart/Chart.yaml"
done
mv "$out/.fleet-build/fleetcontroller" "$out/.fleet-build/fleetagent" "$out/"
rmdir "$out/.fleet-build"
echo "$pins" >"$out/.fleet.pins"
echo "fleet: built fleetcontroller and fleetagent $version in $((SECONDS - start))s into $out"
