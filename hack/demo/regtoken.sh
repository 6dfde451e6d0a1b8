#!/usr/bin/env bash
# kubectl regtoken's part of `make demo`: the headline flow through the real
# kubectl. hack/demo.sh exports KUBECONFIG (admin of a throwaway control
# plane), DEMO_DIR and PATH (built plugins first) and has started the real
# Fleet (DEMO_FLEET_CHART: the fleet-agent chart of its source archive) or
# else the Fleet controller emulator; this script starts and stops nothing
# itself.
set -euo pipefail

: "${KUBECONFIG:?KUBECONFIG must name the demo cluster}"
: "${DEMO_DIR:?DEMO_DIR must be a scratch directory}"

NS=fleet-default
WORK="$DEMO_DIR/regtoken"
mkdir -p "$WORK"
cd "$WORK"

# run echoes a command, shell-quoted, before running it.
run() {
	local quoted=()
	local a
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
			quoted+=("$a")
		else
			quoted+=("'${a//\'/\'\\\'\'}'")
		fi
	done
	printf '+ %s\n' "${quoted[*]}"
	"$@"
}

# expect_failure runs a command that must fail, and shows its error.
expect_failure() {
	if run "$@"; then
		echo "demo: expected this command to fail" >&2
		return 1
	fi
	echo "(refused, as it should be)"
}

section() { printf '\n### %s\n' "$*"; }

section "kubectl regtoken: enroll a cluster into Fleet"
if ! kubectl get namespace "$NS" >/dev/null 2>&1; then
	run kubectl create namespace "$NS"
fi

section "create: token, wait for the Fleet controller, values.yaml, helm commands"
run kubectl regtoken create edge-1 -n "$NS" --ttl 7d --label env=demo --label example.com/tier=gold

section "values.yaml: mode and keys (token value masked)"
run stat -c '%a %n' values.yaml
run sed -E -e 's/^(token: ).*/\1<masked>/' values.yaml

section "the token as Fleet's CRD shows it, and as regtoken lists it"
run kubectl get clusterregistrationtokens.fleet.cattle.io -n "$NS"
run kubectl regtoken list -n "$NS"
run kubectl regtoken list -A -o wide
run kubectl regtoken get edge-1 -n "$NS"

section "helm: the install command again, for another label set"
run kubectl regtoken helm edge-1 -n "$NS" --label env=staging --client-id edge-1

section "values: fetch values.yaml again into another file"
run kubectl regtoken values edge-1 -n "$NS" --values-file edge-1-values.yaml
run stat -c '%a %n' edge-1-values.yaml

section "bad input is refused before anything is sent"
expect_failure kubectl regtoken create edge-2 -n "$NS" --client-id 'edge "2"'
expect_failure kubectl regtoken create import-token-edge -n "$NS"
expect_failure kubectl regtoken create edge-1 -n "$NS" --values-file fresh.yaml

if [[ -n ${DEMO_ENROLL_KUBECONFIG:-} ]]; then
	section "enroll: token, helm install of the agent into two downstream clusters, wait until Fleet registered both"
	run kubectl regtoken enroll edge-1 edge-2 -n "$NS" --kubeconfig "$DEMO_ENROLL_KUBECONFIG" --token-name edge-fleet --ttl 1h --keep-token --label env=demo \
		--chart "${DEMO_FLEET_CHART:-$DEMO_ROOT/test/charts/fleet-agent}" --helm "$DEMO_ROOT/bin/tools/helm" --timeout 2m
	run kubectl regtoken describe edge-fleet -n "$NS"
	run kubectl regtoken list -n "$NS" -o wide

	section "enroll again: registered clusters are left alone, no token is made"
	run kubectl regtoken enroll edge-1 edge-2 -n "$NS" --kubeconfig "$DEMO_ENROLL_KUBECONFIG" --ttl 1h \
		--chart "${DEMO_FLEET_CHART:-$DEMO_ROOT/test/charts/fleet-agent}" --helm "$DEMO_ROOT/bin/tools/helm"

	section "monitoring: tokens expiring within 2h (exit 3 when any)"
	if run kubectl regtoken list -n "$NS" --expiring-within 2h --fail-if-any; then :; else echo "(exit $?)"; fi
fi

if [[ -n ${DEMO_ENROLL_KUBECONFIG:-} && -n ${DEMO_RANCHER_IMPORT:-} ]]; then
	section "import: the same two downstream clusters into Rancher 2.15 (emulated), until Active"
	began=$SECONDS
	run kubectl regtoken import edge-1 edge-2 -n "$NS" --kubeconfig "$DEMO_ENROLL_KUBECONFIG" --label env=demo --timeout 2m
	echo "(imported in $((SECONDS - began))s)"
	run kubectl regtoken import list -n "$NS" --kubeconfig "$DEMO_ENROLL_KUBECONFIG"
fi

section "pull mode: a manifest k3s/rke2 deploy by themselves, one per device of an inventory"
printf '%s\n' '- name: shop-17' '  clientID: shop-17' '  labels: {site: shop-17}' '- name: shop-18' '  labels: {site: shop-18}' >devices.yaml
mkdir -p manifests
run kubectl regtoken values edge-1 -n "$NS" --values-format k3s-manifest --devices devices.yaml --values-file manifests/
run stat -c '%a %n' manifests/shop-17.yaml manifests/shop-18.yaml
run grep -A8 '^kind: HelmChart' manifests/shop-17.yaml

section "delete"
run kubectl regtoken delete edge-1 -n "$NS"
run kubectl regtoken list -n "$NS"
