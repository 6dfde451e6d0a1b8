#!/usr/bin/env bash
# goreleaser's sboms: step (see .goreleaser.yaml): writes the CycloneDX SBOM
# of one release archive from the Go build information of the plugin
# binary inside it (the module graph, versions and go.sum hashes the
# binary was built from), with cyclonedx-gomod from hack/tools/sbom.
#   hack/sbom.sh ARCHIVE DOCUMENT VERSION
set -euo pipefail
archive=$1 document=$2 version=$3
root=$(cd "$(dirname "$0")/.." && pwd)
tool=${TOOLS_DIR:-$root/bin/tools}/cyclonedx-gomod
if [[ ! -x $tool ]]; then
	echo "sbom: $tool is missing: run hack/tools.sh cyclonedx-gomod" >&2
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sbom.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
case $archive in
*.tar.gz) tar -xzf "$archive" -C "$tmp" ;;
*.zip) unzip -q "$archive" -d "$tmp" ;;
*)
	echo "sbom: $archive is neither .tar.gz nor .zip" >&2
	exit 1
	;;
esac
bins=("$tmp"/kubectl-*)
bin=${bins[0]}
if [[ ${#bins[@]} != 1 || ! -f $bin ]]; then
	echo "sbom: $archive should hold one kubectl-<plugin> binary" >&2
	exit 1
fi
"$tool" bin -json -version "v$version" -output "$document" "$bin"
