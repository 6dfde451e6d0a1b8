#!/usr/bin/env bash
# make demo: a throwaway control plane (the real kube-apiserver and etcd),
# the real Fleet v0.16.1 (make fleet; else the Fleet emulator and agent
# stand-in), the Rancher emulator, and each plugin's headline flow run
# through the real kubectl. Nothing is left running, also on Ctrl-C or
# failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

DEMO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kubectl-tokens-demo.XXXXXX")
export DEMO_DIR
pids=()

cleanup() {
	local status=$?
	trap - EXIT INT TERM
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[i]}" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		# each helper runs in its own process group: make sure its
		# children (kube-apiserver, etcd) go too
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL -- "-$pid" 2>/dev/null || true
	done
	rm -rf "$DEMO_DIR"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME ARGS...: runs a helper in its own process group and waits
# until it writes to its ready FIFO (or dies).
start() {
	local name=$1
	shift
	local fifo=$DEMO_DIR/$name.ready
	mkfifo "$fifo"
	setsid "$DEMO_DIR/bin/$name" "$@" --ready-file "$fifo" >"$DEMO_DIR/$name.log" 2>&1 &
	pids+=($!)
	local line=""
	if ! read -r -t 600 line <>"$fifo" || [[ $line != ready* ]]; then
		echo "demo: $name did not become ready; its log:" >&2
		cat "$DEMO_DIR/$name.log" >&2
		return 1
	fi
}

echo "demo: building the control-plane runner and the emulators"
mkdir -p "$DEMO_DIR/bin"
helpers=(devcluster)
for h in fleet-emulator fleet-downstreams rancher-emulator; do
	[[ -d test/cmd/$h ]] && helpers+=("$h")
done
go build -o "$DEMO_DIR/bin/" $(printf './test/cmd/%s ' "${helpers[@]}")

export DEMO_ROOT=$root
if [[ -x bin/testbin/fleetcontroller ]]; then
	echo "demo: starting a throwaway control plane (kube-apiserver + etcd from bin/testbin) with the real Fleet v0.16.1 and two downstream control planes, each running the real fleet-agent"
	began=$SECONDS
	start devcluster --state-dir "$DEMO_DIR" --real-fleet --fleet-downstreams 2 --downstream-prefix edge --enroll-kubeconfig "$DEMO_DIR/enroll.kubeconfig"
	grep -h "real Fleet" "$DEMO_DIR/devcluster.log" || true
	echo "demo: control plane, real Fleet and downstream planes ready in $((SECONDS - began))s"
	export DEMO_ENROLL_KUBECONFIG=$DEMO_DIR/enroll.kubeconfig DEMO_FLEET_CHART=$root/bin/testbin/fleet-charts/fleet-agent
	real_fleet=1
else
	echo "demo: the real Fleet is not built (make fleet said why): the regtoken part runs on the Fleet emulator and agent stand-in"
	echo "demo: starting a throwaway control plane (kube-apiserver + etcd from bin/testbin)"
	start devcluster --state-dir "$DEMO_DIR"
	real_fleet=
fi
export KUBECONFIG=$DEMO_DIR/admin.kubeconfig
if [[ -z $real_fleet && -x $DEMO_DIR/bin/fleet-emulator ]]; then
	echo "demo: starting the Fleet controller emulator (2 s delay)"
	start fleet-emulator --kubeconfig "$KUBECONFIG" --delay 2s
fi
if [[ -z $real_fleet && -x $DEMO_DIR/bin/fleet-downstreams ]]; then
	echo "demo: starting two downstream control planes with a Fleet agent stand-in each (for regtoken enroll)"
	start fleet-downstreams --kubeconfig "$KUBECONFIG" --out-kubeconfig "$DEMO_DIR/enroll.kubeconfig" \
		--clusters 2 --prefix edge --poll-interval 200ms --retry-interval 1s
	export DEMO_ENROLL_KUBECONFIG=$DEMO_DIR/enroll.kubeconfig
fi
if [[ -x $DEMO_DIR/bin/rancher-emulator ]]; then
	import_args=()
	if [[ -n ${DEMO_ENROLL_KUBECONFIG:-} ]]; then
		# The import side of Rancher 2.15 too, and the cattle-cluster-agent
		# stand-in on the two downstream planes.
		import_args=(--import-release 2.15.0 --import-downstreams "$DEMO_ENROLL_KUBECONFIG")
		export DEMO_RANCHER_IMPORT=1
	fi
	echo "demo: starting the Rancher emulator (ext token API${import_args:+; cluster import as Rancher 2.15.0})"
	start rancher-emulator --kubeconfig "$KUBECONFIG" \
		--front-proxy-ca-file "$DEMO_DIR/front-proxy-ca.crt" \
		--front-proxy-client-name "$(cat "$DEMO_DIR/front-proxy-client-name")" "${import_args[@]}"
fi

export PATH=$root/bin:$PATH
echo
echo "+ kubectl plugin list"
kubectl plugin list 2>&1 | grep kubectl- || true
cd "$DEMO_DIR"
for section in bootstrap regtoken exttoken; do
	script=$root/hack/demo/$section.sh
	[[ -f $script ]] || continue
	echo
	echo "=================== kubectl $section ==================="
	bash "$script"
done
echo
echo "demo: done in ${SECONDS}s; stopping everything"
