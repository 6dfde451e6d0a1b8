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
	trap 'rm -f "$config"' EXIT
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

# Signing (cosign, keyless in the release workflow) runs when cosign is on
# PATH, with a throwaway key pair made here: that exercises the signs:
# config of .goreleaser.yaml and the signature is verified below. Without
# cosign the snapshot is not signed (`goreleaser check` still validates
# the config).
skip=publish
tmpkey=
if command -v cosign >/dev/null; then
	tmpkey=$(mktemp -d "${TMPDIR:-/tmp}/cosign-throwaway.XXXXXX")
	(cd "$tmpkey" && COSIGN_PASSWORD= cosign generate-key-pair >/dev/null)
	export COSIGN_KEY=$tmpkey/cosign.key COSIGN_PASSWORD=
else
	skip=publish,sign
	echo "release-snapshot: cosign is not on PATH: checksums.txt is not signed"
fi

start=$SECONDS
# GOOS/GOARCH must not leak into goreleaser's own go invocations.
env -u GOOS -u GOARCH "$goreleaser" release --snapshot --clean --skip="$skip" --config "$config"
if [[ -n $tmpkey ]]; then
	cosign verify-blob --key "$tmpkey/cosign.pub" --signature dist/checksums.txt.sig \
		--insecure-ignore-tlog dist/checksums.txt
	rm -rf "$tmpkey"
fi
echo "release-snapshot: done in $((SECONDS - start))s"
"$root/hack/release-image.sh" "$mode"
echo "release-snapshot: archives in dist/ (bytes):"
find dist -maxdepth 1 -type f \( -name '*.tar.gz' -o -name '*.zip' \) -printf '  %-44f %10s\n' | sort
