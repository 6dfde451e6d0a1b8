package bootstrap

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// kubeadmConfig is kube-system/kubeadm-config with a controlPlaneEndpoint.
func kubeadmConfig(endpoint string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "kubeadm-config", Namespace: "kube-system"},
		Data: map[string]string{"ClusterConfiguration": "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n" +
			"controlPlaneEndpoint: " + endpoint + "\nkubernetesVersion: v1.36.3\n"},
	}
}

// clusterInfoAt is kube-public/cluster-info naming server.
func clusterInfoAt(server string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-info", Namespace: "kube-public"},
		Data:       map[string]string{"kubeconfig": "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: " + server + "\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nusers: null\n"},
	}
}

func TestJoinAddressSources(t *testing.T) {
	join := func(addr string) string {
		return "kubeadm join " + addr + " --token " + tok + " --discovery-token-ca-cert-hash " + spkiRoot + "\n"
	}
	args := []string{"create", tok, "--flavor", "kubeadm", "--print-join-command"}
	reqs := []string{cpeReq, clusterInfoReq, createReq}
	runTable(t, []cmdCase{
		{name: "kubeadm-config's controlPlaneEndpoint first", args: args,
			objects:  []runtime.Object{kubeadmConfig("lb.example.com:6443"), clusterInfoAt("https://10.0.0.2:6443")},
			stdout:   join("lb.example.com:6443"),
			stderr:   "join address lb.example.com:6443 from kube-system/kubeadm-config controlPlaneEndpoint, the cluster's HA endpoint (kube-public/cluster-info's server is 10.0.0.2:6443, the kubeconfig server is 10.0.0.1:6443); pass --join-server to choose\n",
			requests: reqs},
		{name: "a controlPlaneEndpoint without a port gets 6443", args: args,
			objects:  []runtime.Object{kubeadmConfig("lb.example.com"), clusterInfoAt("https://lb.example.com:6443")},
			stdout:   join("lb.example.com:6443"),
			stderr:   "join address lb.example.com:6443 from kube-system/kubeadm-config controlPlaneEndpoint, the cluster's HA endpoint (the kubeconfig server is 10.0.0.1:6443); pass --join-server to choose\n",
			requests: reqs},
		{name: "cluster-info's server when there is no controlPlaneEndpoint", args: args,
			objects:  []runtime.Object{kubeadmConfig(`""`), clusterInfoAt("https://10.0.0.2:6443")},
			stdout:   join("10.0.0.2:6443"),
			stderr:   "join address 10.0.0.2:6443 from kube-public/cluster-info's server, the address joining nodes use after discovery (the kubeconfig server is 10.0.0.1:6443); pass --join-server to choose\n",
			requests: reqs},
		{name: "all agree: nothing said", args: args,
			objects:  []runtime.Object{kubeadmConfig("10.0.0.1:6443"), clusterInfoAt("https://10.0.0.1:6443/")},
			stdout:   join("10.0.0.1:6443"),
			requests: reqs},
		{name: "the kubeconfig server when the cluster publishes none", args: args,
			stdout: join("10.0.0.1:6443"), requests: reqs},
		{name: "an unusable controlPlaneEndpoint is ignored, and said", args: args,
			objects:  []runtime.Object{kubeadmConfig("lb.example.com:6443/x")},
			stdout:   join("10.0.0.1:6443"),
			stderr:   `join address 10.0.0.1:6443 from the kubeconfig server; ignored kube-system/kubeadm-config controlPlaneEndpoint "lb.example.com:6443/x": not HOST[:PORT]` + "\n",
			requests: reqs},
		{name: "a published endpoint makes a proxy kubeconfig usable", args: args, server: "https://rancher.example.com/k8s/clusters/c-m-1",
			objects:  []runtime.Object{kubeadmConfig("lb.example.com:6443")},
			stdout:   join("lb.example.com:6443"),
			requests: reqs},
		{name: "--join-server wins and reads nothing", args: append(args, "--join-server", "https://other.example.com:6443"),
			objects:  []runtime.Object{kubeadmConfig("lb.example.com:6443"), clusterInfoAt("https://10.0.0.2:6443")},
			stdout:   join("other.example.com:6443"),
			requests: []string{createReq}},
		{name: "k3s reads neither ConfigMap", args: []string{"create", tok, "--flavor", "k3s", "--print-join-command", "-o", "jsonpath={.endpoint}"},
			objects:  []runtime.Object{kubeadmConfig("lb.example.com:6443")},
			stdout:   "https://10.0.0.1:6443",
			requests: []string{createReq}},
		{name: "a client dry run sends nothing: the kubeconfig server", args: append(args, "--dry-run=client"),
			objects: []runtime.Object{kubeadmConfig("lb.example.com:6443")},
			stdout:  join("10.0.0.1:6443"),
			stderr:  `bootstrap token "abcdef" created (dry run): nothing was sent to the API server; Secret kube-system/bootstrap-token-abcdef of type bootstrap.kubernetes.io/token would hold it` + "\n"},
	})
}
