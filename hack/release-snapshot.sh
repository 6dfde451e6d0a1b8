#!/usr/bin/env bash
# Builds an unpublished snapshot release into dist/ with the pinned
# goreleaser (hack/goreleaser.sh): the archives, their SBOMs, the deb and
# rpm packages, checksums.txt, the krew manifests dist/krew/<plugin>.yaml
# and the Homebrew casks; then the container image dist/image
# (hack/release-image.sh). test/release checks all of it.
#   hack/release-snapshot.sh --all            every platform in .goreleaser.yaml
#   hack/release-snapshot.sh --single-target  only this machine's GOOS/GOARCH
#                                             (or $GOOS/$GOARCH), for CI
# goreleaser v2.13's `release` has no --single-target (only `build` does),
# so --single-target runs it on a copy of .goreleaser.yaml whose anchored
# goos/goarch lists are narrowed to one platform.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:---all}
case $mode in
--all | --single-target) ;;
*)
	echo "usage: $0 [--all|--single-target]" >&2
	exit 2
	;;
esac

"$root/hack/goreleaser.sh"
"$root/hack/tools.sh" cyclonedx-gomod
goreleaser=${GORELEASER_DIR:-${TOOLS_DIR:-$root/bin/tools}}/goreleaser
cd "$root"
"$goreleaser" check

config=.goreleaser.yaml
if [[ $mode == --single-target ]]; then
	goos=${GOOS:-$(go env GOOS)}
	goarch=${GOARCH:-$(go env GOARCH)}
	config=$(mktemp "${TMPDIR:-/tmp}/goreleaser-single-target.XXXXXX.yaml")
	trap 'rm -f "$config"' EXIT # until cleanup below takes over
	sed -E \
		-e "s/^([[:space:]]*goos: &goos )\[.*\]\$/\1[$goos]/" \
		-e "s/^([[:space:]]*goarch: &goarch )\[.*\]\$/\1[$goarch]/" \
		.goreleaser.yaml >"$config"
	if [[ $(grep -cE "^[[:space:]]*goos: &goos \[$goos\]\$" "$config") != 1 ||
		$(grep -cE "^[[:space:]]*goarch: &goarch \[$goarch\]\$" "$config") != 1 ]]; then
		echo "release-snapshot: .goreleaser.yaml must keep one 'goos: &goos [...]' and one 'goarch: &goarch [...]' line" >&2
		exit 1
	fi
	echo "release-snapshot: single target $goos/$goarch"
fi

# goreleaser reads the commit only from a repository with a remote: without
# one (a local clone) the snapshot would be 0.0.0-SNAPSHOT-none with no
# commit in the binaries. Name the project's URL for this run only, through
# git's environment config (nothing is written to .git/config).
if [[ -z $(git remote) ]]; then
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url \
		GIT_CONFIG_VALUE_0=https://github.com/kubectl-tokens/kubectl-tokens.git
fi

# Signing (cosign, keyless in the release workflow) runs here with a
# throwaway key pair made in a temporary directory (no password): that
# exercises the signs: config of .goreleaser.yaml, and the signature of
# checksums.txt is verified below; the image is signed and verified by
# digest in a loopback registry (sign_image). --all builds the pinned cosign
# (hack/tools.sh cosign, several minutes cold); --single-target (make
# release-check, part of make test) never builds it: it signs with a cosign
# on PATH (the release workflow installs one) or one already built into
# the tools directory, and otherwise skips signing (`goreleaser check`
# still validates the config).
tools=${TOOLS_DIR:-$root/bin/tools}
cosign=$(command -v cosign || true)
if [[ -z $cosign && $mode == --all ]]; then
	"$root/hack/tools.sh" cosign
fi
if [[ -z $cosign && -x $tools/cosign ]]; then
	cosign=$tools/cosign
fi
skip=publish
scratch=$(mktemp -d "${TMPDIR:-/tmp}/release-snapshot.XXXXXX")
regpid=
cleanup() {
	[[ -z $regpid ]] || kill "$regpid" 2>/dev/null || true
	rm -rf "$scratch"
	[[ $config == .goreleaser.yaml ]] || rm -f "$config"
}
trap cleanup EXIT
if [[ -n $cosign ]]; then
	(cd "$scratch" && COSIGN_PASSWORD= "$cosign" generate-key-pair >/dev/null 2>&1)
	export COSIGN_KEY=$scratch/cosign.key COSIGN_PASSWORD=
	# goreleaser runs the cosign on PATH.
	mkdir "$scratch/bin"
	ln -s "$cosign" "$scratch/bin/cosign"
	echo "release-snapshot: signing with $cosign ($("$cosign" version --json 2>/dev/null | grep -o '"gitVersion": *"[^"]*"' | cut -d'"' -f4)) and a throwaway key"
else
	skip=publish,sign
	echo "release-snapshot: no cosign on PATH or in $tools (make release-snapshot builds it): nothing is signed"
fi

# sign_image pushes dist/image to an in-memory registry on loopback
# (hack/tools/image), signs it there by digest with the throwaway key (no
# transparency log) and verifies the signature, as the release workflow
# signs the pushed image keyless.
sign_image() {
	"$tools/oci-image" registry -addr-file "$scratch/registry" &
	regpid=$!
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -s $scratch/registry ]] && break
		kill -0 "$regpid" || exit 1
		sleep 0.1
	done
	local ref
	ref=$("$tools/oci-image" push -layout dist/image "$(cat "$scratch/registry")/kubectl-tokens:snapshot")
	"$cosign" sign --key "$COSIGN_KEY" --tlog-upload=false --yes "$ref" 2>"$scratch/sign.log" || {
		cat "$scratch/sign.log" >&2
		exit 1
	}
	"$cosign" verify --key "$scratch/cosign.pub" --insecure-ignore-tlog=true "$ref" >/dev/null 2>"$scratch/verify.log" || {
		cat "$scratch/verify.log" >&2
		exit 1
	}
	echo "release-snapshot: image ${ref#*@} signed and verified (throwaway key, loopback registry)"
	kill "$regpid"
	wait "$regpid" 2>/dev/null || true
	regpid=
}

start=$SECONDS
# GOOS/GOARCH must not leak into goreleaser's own go invocations.
PATH=$scratch/bin:$PATH env -u GOOS -u GOARCH "$goreleaser" release --snapshot --clean --skip="$skip" --config "$config"
if [[ -n $cosign ]]; then
	# cosign warns that it skips the transparency log and cannot reach
	# Sigstore's TUF repository (it needs neither with a key): shown only
	# on failure.
	"$cosign" verify-blob --key "$scratch/cosign.pub" --signature dist/checksums.txt.sig \
		--insecure-ignore-tlog dist/checksums.txt 2>"$scratch/verify-blob.log" || {
		cat "$scratch/verify-blob.log" >&2
		exit 1
	}
	echo "release-snapshot: dist/checksums.txt.sig verified (throwaway key)"
fi
echo "release-snapshot: done in $((SECONDS - start))s"
"$root/hack/release-image.sh" "$mode"
[[ -z $cosign ]] || sign_image
echo "release-snapshot: archives in dist/ (bytes):"
find dist -maxdepth 1 -type f \( -name '*.tar.gz' -o -name '*.zip' \) -printf '  %-44f %10s\n' | sort
