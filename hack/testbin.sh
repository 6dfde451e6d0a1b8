#!/usr/bin/env bash
# Builds the real control-plane binaries the tests run (kube-apiserver, etcd,
# kubeadm) from the versions pinned in hack/tools/go.mod into bin/testbin.
# A binary already built from the same pins is kept: the stamp beside it
# records the go.sum it came from.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${TESTBIN_DIR:-$root/bin/testbin}
tools=$root/hack/tools
mkdir -p "$out"

pins=$(cat "$tools/go.mod" "$tools/go.sum" | sha256sum | cut -c1-16)
kube_version=$(awk '$1=="k8s.io/kubernetes"{print $2; exit}' "$tools/go.mod")
etcd_version=$(awk '$1=="go.etcd.io/etcd/server/v3"{print $2; exit}' "$tools/go.mod")
major=${kube_version#v}; minor=${major#*.}; major=${major%%.*}; minor=${minor%%.*}
kube_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$kube_version"
etcd_ldflags="-s -w"

build() { # name package ldflags
	local name=$1 pkg=$2 ldflags=$3
	if [[ -x $out/$name && "$(cat "$out/.$name.pins" 2>/dev/null)" == "$pins" ]]; then
		echo "testbin: $name is up to date"
		return
	fi
	echo "testbin: building $name from $pkg"
	local start=$SECONDS
	(cd "$tools" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/$name.tmp" "$pkg")
	mv "$out/$name.tmp" "$out/$name"
	echo "$pins" > "$out/.$name.pins"
	echo "testbin: built $name in $((SECONDS - start))s"
}

build etcd go.etcd.io/etcd/server/v3 "$etcd_ldflags"
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
build kubeadm k8s.io/kubernetes/cmd/kubeadm "$kube_ldflags"
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$kube_ldflags"
echo "testbin: kube-apiserver/kubeadm $kube_version, etcd $etcd_version in $out"
