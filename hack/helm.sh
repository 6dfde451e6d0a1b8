#!/usr/bin/env bash
# Builds helm at the version pinned in hack/tools/helm/go.mod into
# bin/tools/helm, from the Go module proxy (go.sum checks every module).
# helm has its own tools module so that its k8s.io versions never move the
# pins of hack/tools or of the plugins. The regtoken tests run the helm
# commands the plugin prints through this helm against test/charts.
# A binary already built from the same pins is kept: the stamp beside it
# records the go.mod/go.sum it came from.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${HELM_DIR:-$root/bin/tools}
tools=$root/hack/tools/helm
mkdir -p "$out"

pins=$(cat "$tools/go.mod" "$tools/go.sum" | sha256sum | cut -c1-16)
version=$(awk '{for (i = 1; i < NF; i++) if ($i == "helm.sh/helm/v3") {print $(i + 1); exit}}' "$tools/go.mod")
if [[ -z $version ]]; then
	echo "helm: no helm.sh/helm/v3 pin in $tools/go.mod" >&2
	exit 1
fi

if [[ -x $out/helm && "$(cat "$out/.helm.pins" 2>/dev/null)" == "$pins" ]]; then
	echo "helm: $version is up to date in $out"
	exit 0
fi

echo "helm: building $version (cold: about 5 minutes on 2 cores)"
start=$SECONDS
# -mod=readonly: the build uses exactly the pinned go.sum, never edits it.
# helm reads its version from helm.sh/helm/v3/internal/version.version.
(cd "$tools" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath \
	-ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version" \
	-o "$out/helm.tmp" helm.sh/helm/v3/cmd/helm)
mv "$out/helm.tmp" "$out/helm"
echo "$pins" >"$out/.helm.pins"
echo "helm: built $version in $((SECONDS - start))s into $out/helm"
