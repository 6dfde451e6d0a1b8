#!/usr/bin/env bash
# kubectl bootstrap's part of `make demo`: the headline flow through the
# real kubectl. hack/demo.sh exports KUBECONFIG (admin of a throwaway
# control plane, CA embedded), DEMO_DIR and PATH (built plugins first);
# this script starts and stops nothing itself.
set -euo pipefail

: "${KUBECONFIG:?KUBECONFIG must name the demo cluster}"
: "${DEMO_DIR:?DEMO_DIR must be a scratch directory}"

WORK="$DEMO_DIR/bootstrap"
mkdir -p "$WORK"
cd "$WORK"

# quote prints its arguments as one shell-quoted line.
quote() {
	local quoted=() a
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
			quoted+=("$a")
		else
			quoted+=("'${a//\'/\'\\\'\'}'")
		fi
	done
	printf '%s' "${quoted[*]}"
}

# run echoes a command, shell-quoted, before running it.
run() {
	printf '+ %s\n' "$(quote "$@")"
	"$@"
}

# capture VAR CMD...: like run, and also keeps the command's stdout in VAR.
capture() {
	local var=$1 out
	shift
	printf '+ %s\n' "$(quote "$@")"
	out=$("$@")
	printf '%s\n' "$out"
	printf -v "$var" '%s' "$out"
}

section() { printf '\n### %s\n' "$*"; }

section "A random token, offline (nothing is sent)"
run kubectl bootstrap generate

section "Create a token exactly as kubeadm does (24h, signing+authentication, kubeadm's group)"
capture TOKEN kubectl bootstrap create --description "demo worker"
ID=${TOKEN%%.*}

section "The secure K10 form: the CA hash lets a joining node verify the cluster"
capture SECURE kubectl bootstrap create -o secure --ttl 2h --description "demo secure"

section "Join commands for each flavor"
# kubeadm: detected from the server's /version, same endpoint and hash rule as kubeadm
run kubectl bootstrap create --print-join-command --ttl 1h
# k3s: the agent install line, on the API server's port
run kubectl bootstrap create --flavor k3s --print-join-command --ttl 1h
# rke2: the agent config.yaml, supervisor port 9345, through a load balancer
run kubectl bootstrap create --flavor rke2 --print-join-command --ttl 1h --join-server https://rke2.example.com:9345

section "Join material for automation, and reusing a valid token instead of minting another"
run kubectl bootstrap create --print-join-command -o json --ttl 1h --description "demo automation"
run kubectl bootstrap create --reuse --ttl 1h --description "demo automation"

section "Extend a token still in use: two more days from now"
run kubectl bootstrap extend "$ID" --ttl 2d

section "List (IDs only; the secret stays hidden unless --show-secrets)"
run kubectl bootstrap list
run kubectl bootstrap list -o wide

section "Inspect the secure token: exists, expiry, usages, CA hash against this cluster's CA"
run kubectl bootstrap inspect "$SECURE"

section "Verify: really authenticate with the token (a SelfSubjectReview)"
run kubectl bootstrap verify "$TOKEN"

section "Delete by ID and by whole token"
run kubectl bootstrap delete "$ID"
run kubectl bootstrap delete "$SECURE"
printf '+ %s\n' "$(quote kubectl bootstrap inspect "$ID")"
if kubectl bootstrap inspect "$ID"; then
	echo "demo: a deleted token still exists" >&2
	exit 1
fi
echo "(reported, as it should be: the token is gone)"
run kubectl bootstrap list
