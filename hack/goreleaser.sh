#!/usr/bin/env bash
# Builds goreleaser at the version pinned in hack/tools/goreleaser/go.mod
# into bin/tools/goreleaser, from the Go module proxy (go.sum checks every
# module). goreleaser has its own tools module so that its dependencies
# never move the k8s.io pins of hack/tools or of the plugins.
# A binary already built from the same pins is kept: the stamp beside it
# records the go.mod/go.sum it came from.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${GORELEASER_DIR:-$root/bin/tools}
tools=$root/hack/tools/goreleaser
mkdir -p "$out"

# The stamp hashes the files' contents only, so a clone elsewhere (or
# GORELEASER_DIR shared between checkouts) recognises the same pins.
pins=$(cat "$tools/go.mod" "$tools/go.sum" | sha256sum | cut -c1-16)
# The pin is `require github.com/goreleaser/goreleaser/v2 vX.Y.Z` (one line
# or inside a require block).
version=$(awk '{for (i = 1; i < NF; i++) if ($i == "github.com/goreleaser/goreleaser/v2") {print $(i + 1); exit}}' "$tools/go.mod")
if [[ -z $version ]]; then
	echo "goreleaser: no github.com/goreleaser/goreleaser/v2 pin in $tools/go.mod" >&2
	exit 1
fi

if [[ -x $out/goreleaser && "$(cat "$out/.goreleaser.pins" 2>/dev/null)" == "$pins" ]]; then
	echo "goreleaser: $version is up to date in $out"
	exit 0
fi

echo "goreleaser: building $version (cold: several minutes on 2 cores)"
start=$SECONDS
# -mod=readonly: the build uses exactly the pinned go.sum, never edits it.
(cd "$tools" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath \
	-ldflags "-s -w -X main.version=$version -X main.builtBy=hack/goreleaser.sh" \
	-o "$out/goreleaser.tmp" github.com/goreleaser/goreleaser/v2)
mv "$out/goreleaser.tmp" "$out/goreleaser"
echo "$pins" >"$out/.goreleaser.pins"
echo "goreleaser: built $version in $((SECONDS - start))s into $out/goreleaser"
