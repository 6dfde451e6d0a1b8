#!/usr/bin/env bash
# make demo section for kubectl exttoken. The caller (hack/demo.sh) exports
# KUBECONFIG (admin), DEMO_DIR and PATH with the built plugins first, and
# has started the Rancher ext token API emulator (test/cmd/rancher-emulator)
# behind the real kube-apiserver. This script starts and stops nothing.
set -euo pipefail

# run echoes a command, quoted so it can be pasted, then runs it.
run() {
	local out="+" a
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
			out+=" $a"
		else
			out+=" '${a//\'/\'\\\'\'}'"
		fi
	done
	printf '%s\n' "$out"
	"$@"
}

rand() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

echo "# Fixtures: a Rancher user u-demo with a login (v3 session) token, as a"
echo "# login through Rancher would leave behind, and old v3 tokens for the audit."
session=token-demo1
cat >"$DEMO_DIR/rancher-fixtures.yaml" <<EOF
apiVersion: management.cattle.io/v3
kind: User
metadata: {name: u-demo}
displayName: Demo User
username: demo
principalIds: ["local://u-demo"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: rancher-user-u-demo}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: rancher-user}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: u-demo}]
---
apiVersion: management.cattle.io/v3
kind: Token
metadata:
  name: $session
  labels: {authn.management.cattle.io/token-userId: u-demo, authn.management.cattle.io/kind: session}
token: $(rand)
userId: u-demo
authProvider: local
userPrincipal: {metadata: {name: "local://u-demo"}, displayName: Demo User, loginName: demo, principalType: user, provider: local, me: true}
ttl: 57600000
isDerived: false
EOF
# Legacy v3 tokens: four that never expire (ttl 0), one 30-day kubeconfig
# token and one that has already expired (1 ms).
while read -r name kind ttl derived desc; do
	cat >>"$DEMO_DIR/rancher-fixtures.yaml" <<EOF
---
apiVersion: management.cattle.io/v3
kind: Token
metadata:
  name: $name
  labels: {authn.management.cattle.io/token-userId: u-demo$( [[ $kind == - ]] || echo ", authn.management.cattle.io/kind: $kind")}
token: $(rand)
userId: u-demo
authProvider: local
userPrincipal: {metadata: {name: "local://u-demo"}, principalType: user, provider: local}
ttl: $ttl
isDerived: $derived
description: "$desc"
EOF
done <<'EOF'
kubectl-shell-u-demo - 0 true kubectl shell from the UI (Rancher 2.4)
agent-u-demo - 0 true cluster agent
compose-token-x7k2p compose 0 true Rancher Compose
telemetry-u-demo - 0 true telemetry
kubeconfig-u-demo kubeconfig 2592000000 true kubeconfig for local
token-q4s9x - 1 true short-lived API key
EOF
run kubectl apply -f "$DEMO_DIR/rancher-fixtures.yaml"

# The kubeconfig Rancher would hand u-demo. Here the admin credential
# impersonates u-demo and adds the requesttokenid extra that Rancher's auth
# proxy sets; kube-apiserver forwards both to the ext API as X-Remote-*.
cfg() { kubectl config view --raw --minify -o jsonpath="$1"; }
user_kc=$DEMO_DIR/u-demo.kubeconfig
(
	umask 077
	cat >"$user_kc" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: rancher-local
  cluster:
    server: $(cfg '{.clusters[0].cluster.server}')
    certificate-authority-data: $(cfg '{.clusters[0].cluster.certificate-authority-data}')
users:
- name: u-demo
  user:
    client-certificate-data: $(cfg '{.users[0].user.client-certificate-data}')
    client-key-data: $(cfg '{.users[0].user.client-key-data}')
    as: u-demo
    as-user-extra:
      requesttokenid: [$session]
contexts:
- name: u-demo
  context: {cluster: rancher-local, user: u-demo}
current-context: u-demo
EOF
)
admin_kc=$KUBECONFIG
export KUBECONFIG=$user_kc
echo
echo "# As Rancher user u-demo. The token value is printed once, on stdout; this"
echo "# is a throwaway cluster, so the demo shows it."
run kubectl exttoken create --description "CI pipeline" --ttl 30d
run kubectl exttoken create --description "kubeconfig for a laptop" --kind kubeconfig --ttl 12h -o value
run kubectl exttoken create --description "one-off job" --ttl 1ms
run kubectl exttoken create --ttl 365d --description "asks for a year" -o value

echo
echo "# A kubeconfig for a Rancher cluster URL, written 0600 and never over an existing file:"
run kubectl exttoken create --description "laptop" --ttl 7d -o kubeconfig \
	--rancher-url https://rancher.example.com --kubeconfig-file "$DEMO_DIR/laptop.kubeconfig"
run ls -l "$DEMO_DIR/laptop.kubeconfig"
run kubectl config view --kubeconfig "$DEMO_DIR/laptop.kubeconfig" --minify
if run kubectl exttoken create -o kubeconfig --rancher-url https://rancher.example.com --kubeconfig-file "$DEMO_DIR/laptop.kubeconfig"; then
	echo "demo: an existing kubeconfig was overwritten" >&2
	exit 1
fi

echo
echo "# The same rows as kubectl get, because they are the server's table:"
run kubectl exttoken list -o wide
run kubectl get tokens.ext.cattle.io -o wide
run kubectl exttoken list --show-expiry

name=$(kubectl exttoken list --kind kubeconfig -o name | head -n1)
name=${name##*/}
echo
echo "# Shorten a TTL; an extension is refused before anything is sent:"
run kubectl exttoken set-ttl "$name" 90m
if run kubectl exttoken set-ttl "$name" 2h; then
	echo "demo: an extension was accepted" >&2
	exit 1
fi
run kubectl exttoken disable "$name"
run kubectl exttoken describe "$name"

echo
echo "# Prune expired tokens:"
run kubectl exttoken delete --expired --dry-run
run kubectl exttoken delete --expired
run kubectl exttoken list

export KUBECONFIG=$admin_kc
echo
echo "# As the cluster admin: the legacy v3 token audit (the secret token field is never printed)"
run kubectl exttoken legacy list
run kubectl exttoken legacy delete --never-expiring --kind kubectl-shell --dry-run
echo
run kubectl exttoken settings
