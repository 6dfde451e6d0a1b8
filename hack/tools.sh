#!/usr/bin/env bash
# Builds the project's pinned tools into bin/tools (or $TOOLS_DIR) from the
# Go module proxy; go.sum checks every module.
#   hack/tools.sh goreleaser krew golangci-lint deadcode
# Each tool comes from its own tools module under hack/tools/, so that its
# dependencies never move the k8s.io pins of the plugins or of the other
# tools:
#   goreleaser     hack/tools/goreleaser     the release archives, dist/krew/*.yaml
#   krew           hack/tools/krew           kubectl krew, for install tests
#   validate-krew-manifest (with krew)       krew-index's manifest validator
#   golangci-lint  hack/tools/golangci-lint  make lint
#   deadcode       hack/tools/golangci-lint  make deadcode (golang.org/x/tools)
#   helm           hack/tools/helm           runs the helm commands regtoken prints, in its tests
#   cyclonedx-gomod hack/tools/sbom          the release's SBOMs (hack/sbom.sh)
#   oci-image      hack/tools/image          the release's container image (hack/release-image.sh);
#                                            its own main.go on go-containerregistry
#   cosign         hack/tools/cosign         signs the snapshot's checksums and image with a throwaway
#                                            key (hack/release-snapshot.sh --all; not in make test)
# A binary already built from the same pins is kept: the stamp beside it
# (.<tool>.pins) records the go.mod/go.sum and build recipe it came from.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if [[ $# == 0 ]]; then
	echo "usage: $0 goreleaser|krew|golangci-lint|deadcode|helm|cyclonedx-gomod|oci-image|cosign..." >&2
	exit 2
fi

build() {
	local tool=$1 mod pin bins ldflags=() cold
	case $tool in
	goreleaser)
		mod=goreleaser pin=github.com/goreleaser/goreleaser/v2 cold="several minutes"
		bins=("goreleaser=github.com/goreleaser/goreleaser/v2")
		;;
	krew)
		mod=krew pin=sigs.k8s.io/krew cold="about a minute"
		bins=("krew=sigs.k8s.io/krew/cmd/krew" "validate-krew-manifest=sigs.k8s.io/krew/cmd/validate-krew-manifest")
		;;
	golangci-lint)
		mod=golangci-lint pin=github.com/golangci/golangci-lint/v2 cold="several minutes"
		bins=("golangci-lint=github.com/golangci/golangci-lint/v2/cmd/golangci-lint")
		;;
	deadcode)
		mod=golangci-lint pin=golang.org/x/tools cold="under a minute"
		bins=("deadcode=golang.org/x/tools/cmd/deadcode")
		;;
	helm)
		mod=helm pin=helm.sh/helm/v3 cold="about 5 minutes"
		bins=("helm=helm.sh/helm/v3/cmd/helm")
		;;
	cyclonedx-gomod)
		mod=sbom pin=github.com/CycloneDX/cyclonedx-gomod cold="about 2 minutes"
		bins=("cyclonedx-gomod=github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod")
		;;
	oci-image)
		mod=image pin=github.com/google/go-containerregistry cold="under a minute"
		bins=("oci-image=github.com/kubectl-tokens/kubectl-tokens/hack/tools/image")
		;;
	cosign)
		mod=cosign pin=github.com/sigstore/cosign/v2 cold="several minutes"
		bins=("cosign=github.com/sigstore/cosign/v2/cmd/cosign")
		;;
	*)
		echo "tools: unknown tool $tool" >&2
		return 2
		;;
	esac
	local dir=$root/hack/tools/$mod
	local out=${TOOLS_DIR:-$root/bin/tools}
	# goreleaser's directory can be set on its own (test/release reads it).
	[[ $tool == goreleaser ]] && out=${GORELEASER_DIR:-$out}
	mkdir -p "$out"

	# The pin is `require <module> vX.Y.Z` (one line or inside a block).
	local version
	version=$(awk -v m="$pin" '{for (i = 1; i < NF; i++) if ($i == m) {print $(i + 1); exit}}' "$dir/go.mod")
	if [[ -z $version ]]; then
		echo "$tool: no $pin pin in $dir/go.mod" >&2
		return 1
	fi
	case $tool in
	goreleaser) ldflags=(-X main.version="$version" -X main.builtBy=hack/tools.sh) ;;
	krew) ldflags=(-X sigs.k8s.io/krew/internal/version.gitTag="$version") ;;
	golangci-lint) ldflags=(-X main.version="${version#v}" -X main.commit=module-proxy -X main.date=unknown) ;;
	helm) ldflags=(-X helm.sh/helm/v3/internal/version.version="$version") ;;
	cosign) ldflags=(-X sigs.k8s.io/release-utils/version.gitVersion="$version") ;;
	esac

	# The stamp hashes contents only, so a clone elsewhere (or a TOOLS_DIR
	# shared between checkouts) recognises the same pins.
	local pins
	# A tool with its own main.go (oci-image) is rebuilt when that changes.
	pins=$( (cat "$dir/go.mod" "$dir/go.sum"; [[ ! -f $dir/main.go ]] || cat "$dir/main.go"; echo "${bins[*]} ${ldflags[*]}") | sha256sum | cut -c1-16)
	local b up_to_date=1
	for b in "${bins[@]}"; do
		[[ -x $out/${b%%=*} ]] || up_to_date=
	done
	if [[ -n $up_to_date && "$(cat "$out/.$tool.pins" 2>/dev/null)" == "$pins" ]]; then
		echo "$tool: $version is up to date in $out"
		return 0
	fi

	echo "$tool: building $version (cold: $cold on 2 cores)"
	local start=$SECONDS
	for b in "${bins[@]}"; do
		# -mod=readonly: the build uses exactly the pinned go.sum, never edits it.
		(cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath \
			-ldflags "-s -w ${ldflags[*]}" -o "$out/${b%%=*}.tmp" "${b#*=}")
		mv "$out/${b%%=*}.tmp" "$out/${b%%=*}"
	done
	echo "$pins" >"$out/.$tool.pins"
	echo "$tool: built $version in $((SECONDS - start))s into $out"
}

for t in "$@"; do
	build "$t"
done
