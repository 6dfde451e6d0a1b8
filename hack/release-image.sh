#!/usr/bin/env bash
# Builds the release's container image from a goreleaser dist/ into
# dist/image, an OCI image layout (no Docker daemon): the three plugins of
# the snapshot or release and the helm pinned in hack/tools/helm, on an
# empty base with CA certificates, run as the non-root user 65532
# (hack/tools/image/main.go says what is inside).
#   hack/release-image.sh --all            linux/amd64 and linux/arm64
#   hack/release-image.sh --single-target  this machine's linux platform only
#   hack/release-image.sh --push REF...    push dist/image to each REF
# helm for another architecture is cross-built into bin/tools/<os>_<arch>
# (about 5 minutes cold, like the native one).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools=${TOOLS_DIR:-$root/bin/tools}
mode=${1:---all}
cd "$root"
"$root/hack/tools.sh" oci-image

case $mode in
--push)
	shift
	exec "$tools/oci-image" push -layout dist/image "$@"
	;;
--all) platforms=(linux/amd64 linux/arm64) ;;
--single-target)
	if [[ $(go env GOOS) != linux ]]; then
		echo "release-image: the image is linux only; this machine is $(go env GOOS)" >&2
		exit 1
	fi
	platforms=("linux/$(go env GOARCH)")
	;;
*)
	echo "usage: $0 [--all|--single-target|--push REF...]" >&2
	exit 2
	;;
esac

version=$(grep -o '"version":"[^"]*"' dist/metadata.json | head -1 | cut -d'"' -f4)
if [[ -z $version ]]; then
	echo "release-image: no version in dist/metadata.json: run hack/release-snapshot.sh first" >&2
	exit 1
fi
created=$(git log -1 --format=%cI)
stage=$(mktemp -d "${TMPDIR:-/tmp}/release-image.XXXXXX")
trap 'rm -rf "$stage"' EXIT
args=()
for p in "${platforms[@]}"; do
	os=${p%/*} arch=${p#*/}
	dir=$stage/${os}_$arch
	mkdir -p "$dir"
	for plugin in regtoken exttoken bootstrap; do
		# goreleaser's build directories: <id>_<os>_<arch>_<variant>.
		bins=(dist/"${plugin}_${os}_${arch}"*/kubectl-"$plugin")
		if [[ ! -f ${bins[0]} ]]; then
			echo "release-image: no $os/$arch build of kubectl-$plugin in dist/" >&2
			exit 1
		fi
		cp "${bins[0]}" "$dir/"
	done
	if [[ $os == $(go env GOOS) && $arch == $(go env GOARCH) ]]; then
		"$root/hack/tools.sh" helm
		cp "$tools/helm" "$dir/"
	else
		TOOLS_DIR=$tools/${os}_$arch GOOS=$os GOARCH=$arch "$root/hack/tools.sh" helm
		cp "$tools/${os}_$arch/helm" "$dir/"
	fi
	args+=("$p=$dir")
done
"$tools/oci-image" build -out dist/image -version "v$version" -created "$created" \
	-source https://github.com/kubectl-tokens/kubectl-tokens "${args[@]}"
echo "release-image: dist/image (OCI layout, v$version: ${platforms[*]}), $(du -sb dist/image | cut -f1) bytes"
